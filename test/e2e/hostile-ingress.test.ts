import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../src/sandbox/shared/certificates.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import { seededRandom, type RequestCounts } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { makeIdentity, partnerCenterEvent, type SigningIdentity } from '../support/webhook-signer.ts';
import { sqliteStoreConfig } from '../../src/config/schema.ts';

/*
 * The public webhook routes as an attacker sees them: 2,000 hostile requests to /webhooks/partner-center and
 * /webhooks/dynamics against `cosell start` running as a real child process next to the Partner Center and Dataverse
 * sandboxes. Every one must get a 4xx or 503, store nothing, cost no vendor API call, and leave the process up with
 * bounded memory. (Certificate hosts that redirect are covered against a scripted host in certificate-source.test.ts:
 * the Partner Center sandbox never redirects.)
 */

const TOTAL = 2_000;
const CONCURRENCY = 16;
const SLOW_BODIES = 8;
const WARM_UP = 4_000;
const MAX_RSS_GROWTH_MB = 50;

interface Attack {
  name: string;
  route: 'partner-center' | 'dynamics';
  body: string | Buffer;
  headers: Record<string, string>;
  query?: string;
}

/** Resident set size of a process, from /proc (Linux), in bytes. */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Vendor API calls in a sandbox's counts: everything but unmatched probes (404s, e.g. forged certificate paths). */
function vendorCalls(counts: RequestCounts): Record<string, number> {
  return Object.fromEntries(Object.entries(counts.routes).filter(([route]) => !route.endsWith('(unmatched)') && !route.includes('/_sandbox/')));
}

describe('hostile traffic on the public webhook routes', () => {
  let h: SyncHarness;
  let attacker: SigningIdentity;
  let dvSecret = '';
  let attacks: Array<() => Attack> = [];
  const random = seededRandom(7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  beforeAll(async () => {
    h = await SyncHarness.start({ mode: 'child', sync: { reconcileOnStart: false } });
    attacker = await makeIdentity();
    dvSecret = readFileSync(join(h.dir, 'dv-webhook.secret'), 'utf8').trim();
    const pcUrl = new URL(h.pc.url);
    const realCertUrl = `${h.pc.url}/_sandbox/certificates/signing.cer`;
    const deep = (n: number) => `{"EventName":"referral-updated","x":${'['.repeat(n)}${']'.repeat(n)}}`;
    const event = () => partnerCenterEvent(crypto.randomUUID());
    const signed = (body: string, certificateUrl: string, extra: Record<string, string> = {}) => ({
      'content-type': 'application/json',
      authorization: `Signature ${signBody(attacker.leaf.privateKeyPem, body)}`,
      'x-ms-certificate-url': certificateUrl,
      'x-ms-signature-algorithm': 'rsa-sha256',
      ...extra,
    });
    const pc = (name: string, body: string | Buffer, headers: Record<string, string>): Attack => ({ name, route: 'partner-center', body, headers });
    const dv = (name: string, body: string | Buffer, headers: Record<string, string>, query?: string): Attack => ({
      name,
      route: 'dynamics',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      ...(query ? { query } : {}),
    });
    const ssrfUrls = [
      `http://user@${pcUrl.host}/_sandbox/certificates/signing.cer`,
      `http://${pcUrl.host}@evil.example/x.cer`,
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:80/x.cer',
      'http://2130706433/x.cer',
      `http://127.0.0.1:${Number(pcUrl.port) + 1}/x.cer`,
      `https://${pcUrl.host}/_sandbox/certificates/signing.cer`,
      'file:///etc/passwd',
      'gopher://127.0.0.1:25/_HELO',
      'https://attacker.example/cert.cer',
      '//evil.example/x.cer',
      'not a url',
    ];
    const dvContext = (id: string) =>
      JSON.stringify({ MessageName: 'Update', PrimaryEntityName: 'opportunity', PrimaryEntityId: id, OperationId: crypto.randomUUID() });

    attacks = [
      () => pc('unsigned event', event(), { 'content-type': 'application/json' }),
      () => {
        const body = event();
        return pc('forged signature, genuine certificate URL', body, signed(body, realCertUrl));
      },
      () => {
        const body = event();
        return pc('tampered body', body.replace('referral-updated', 'referral-created'), signed(body, realCertUrl));
      },
      () => {
        const body = event();
        return pc('certificate URL trick', body, signed(body, pick(ssrfUrls)));
      },
      () => {
        const body = event();
        // Distinct paths on the allowed host: the blob-store 404 that used to end the process, and cache busting.
        return pc('certificate URL 404 on the allowed host', body, signed(body, `${h.pc.url}/certs/${crypto.randomUUID()}.cer`));
      },
      () => {
        const body = event();
        return pc('unsupported algorithm', body, signed(body, realCertUrl, { 'x-ms-signature-algorithm': 'rsa-md5' }));
      },
      () => pc('garbage signature', event(), { 'content-type': 'application/json', authorization: 'Signature !!!', 'x-ms-certificate-url': realCertUrl, 'x-ms-signature-algorithm': 'rsa-sha256' }),
      () => {
        const body = deep(20_000);
        return pc('20,000 levels deep', body, signed(body, realCertUrl));
      },
      () => {
        const body = JSON.stringify({ EventName: 'referral-updated', padding: 'x'.repeat(300 * 1024) });
        return pc('oversized body', body, signed(body, realCertUrl));
      },
      () => pc('malformed JSON', '{"EventName":', signed('{"EventName":', realCertUrl)),
      () => dv('no credential', dvContext(crypto.randomUUID()), {}),
      () => dv('wrong credential', dvContext(crypto.randomUUID()), { 'x-cosell-webhook-key': 'guess' }),
      () => dv('wrong key in the query string', dvContext(crypto.randomUUID()), {}, `?code=${encodeURIComponent('guess')}`),
      () => dv('authenticated but 20,000 levels deep', deep(20_000), { 'x-cosell-webhook-key': dvSecret }),
      () => dv('unauthenticated and deep', deep(20_000), {}),
      () => dv('authenticated, not a RemoteExecutionContext', JSON.stringify({ hello: 'world' }), { 'x-cosell-webhook-key': dvSecret }),
      () => dv('authenticated, a table we do not sync', JSON.stringify({ MessageName: 'Update', PrimaryEntityName: 'systemuser', PrimaryEntityId: crypto.randomUUID() }), { 'x-cosell-webhook-key': dvSecret }),
      () => dv('oversized body', JSON.stringify({ padding: 'x'.repeat(300 * 1024) }), { 'x-cosell-webhook-key': dvSecret }),
    ];
  }, 90_000);

  afterAll(async () => {
    await h?.close();
  });

  const storedEvents = async (): Promise<number> => {
    const store = SqliteStore.openReadOnly(String(sqliteStoreConfig(h.config.store, 'this test').path));
    if (!store) return 0;
    try {
      return await store.inbox.count();
    } finally {
      await store.close();
    }
  };

  const send = async (attack: Attack): Promise<number> => {
    const response = await fetch(`${h.url}/webhooks/${attack.route}${attack.query ?? ''}`, { method: 'POST', body: attack.body, headers: attack.headers });
    await response.arrayBuffer();
    return response.status;
  };

  /** Opens a request, sends a few bytes of a body it announced as 1,000, then goes quiet. */
  const slowBody = (route: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const { port } = new URL(h.url);
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: `/webhooks/${route}`, headers: { 'content-type': 'application/json', 'content-length': '1000' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"EventName":');
    });

  it(`answers ${TOTAL} hostile requests with 4xx/503, stores nothing, calls no vendor API, stays up with bounded memory`, async () => {
    const child = h.process?.child;
    const pid = child?.pid;
    if (!child || pid === undefined) throw new Error('the service is not running as a child process');
    await h.waitForIdle();

    // Warm-up: the same mix at the measured concurrency until the process is in its steady state. Traced every 500
    // requests from an idle start, RSS climbs ~58 MB over the first ~2,500 (JIT, pools, an old generation V8 has not
    // yet collected), drops at the first full collection and then stays flat (+20 MB at 8,000). Measured after that,
    // the bound catches growth the load keeps causing — a leak — rather than when V8 first chooses to collect.
    let warmed = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (warmed < WARM_UP) await send((attacks[warmed++ % attacks.length] as () => Attack)());
    }));
    // Taken as the warm-up ends, i.e. the working set of this load, not an idle process that has just shrunk back.
    const rssBefore = rssOf(pid);
    const storedBefore = await storedEvents();
    await h.resetRequests();

    const statuses = new Map<string, Set<number>>();
    const slow = Array.from({ length: SLOW_BODIES }, (_, i) => slowBody(i % 2 === 0 ? 'partner-center' : 'dynamics'));
    let next = 0;
    let peakRss = rssBefore;
    const worker = async () => {
      while (next < TOTAL - SLOW_BODIES) {
        const attack = (attacks[next++ % attacks.length] as () => Attack)();
        const status = await send(attack);
        const key = `${attack.route}: ${attack.name}`;
        statuses.set(key, (statuses.get(key) ?? new Set()).add(status));
        if (next % 200 === 0) peakRss = Math.max(peakRss, rssOf(pid));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const slowStatuses = await Promise.all(slow);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rssAfter = rssOf(pid);
    peakRss = Math.max(peakRss, rssAfter);

    const summary = Object.fromEntries([...statuses].map(([key, set]) => [key, [...set].sort()]));
    const growthMb = (rssAfter - rssBefore) / 1024 / 1024;
    console.log(
      `hostile ingress: ${TOTAL} requests; RSS ${(rssBefore / 1048576).toFixed(1)} MB → ${(rssAfter / 1048576).toFixed(1)} MB (peak ${(peakRss / 1048576).toFixed(1)} MB, growth ${growthMb.toFixed(1)} MB)\n${JSON.stringify(summary, null, 1)}`,
    );

    for (const [key, set] of statuses) {
      for (const status of set) expect(status >= 400 && status < 500 ? 'rejected' : status === 503 ? 'rejected' : `${key} → ${status}`).toBe('rejected');
    }
    expect(slowStatuses).toEqual(Array.from({ length: SLOW_BODIES }, () => 408));
    expect(await storedEvents()).toBe(storedBefore);
    expect(vendorCalls(await h.pcRequests())).toEqual({});
    expect(vendorCalls(await h.dvRequests())).toEqual({});
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect(growthMb).toBeLessThan(MAX_RSS_GROWTH_MB);
  }, 240_000);
});
