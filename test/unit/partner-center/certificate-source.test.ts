import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookVerificationSchema, type WebhookVerificationConfig } from '../../../src/config/schema.ts';
import { CertificateError, CertificateSource } from '../../../src/partner-center/certificate-source.ts';
import { makeIdentity, type SigningIdentity } from '../../support/webhook-signer.ts';
import { makeTempDir } from '../../support/tmp.ts';

/**
 * A certificate host that answers like a real blob store to whatever path an attacker picks: 404, redirects, bodies
 * that declare more than the cap. Counts every request.
 */
class HostileHost {
  readonly requests: string[] = [];
  private server: Server | undefined;
  host = '';
  constructor(private readonly certificateDer: () => Buffer) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = req.url ?? '';
      this.requests.push(path);
      if (path.startsWith('/good')) res.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(this.certificateDer());
      else if (path.startsWith('/moved')) res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end('moved '.repeat(500));
      else if (path.startsWith('/found')) res.writeHead(302, { location: '/good.cer' }).end('found '.repeat(500));
      else if (path.startsWith('/huge')) {
        // Declares 10 MB and starts sending: the source must stop at the header.
        res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
        res.write(Buffer.alloc(64 * 1024, 1));
      } else res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>BlobNotFound</Code></Error>'.repeat(100));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  url(path: string): string {
    return `http://${this.host}${path}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** Lets any `error` event queued by a destroyed stream fire while the test still runs (it would fail the run). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('CertificateSource against a hostile certificate host', () => {
  const tmp = makeTempDir();
  let identity: SigningIdentity;
  let host: HostileHost;
  let anchor: string;

  beforeAll(async () => {
    identity = await makeIdentity();
    anchor = join(tmp.path, 'anchor.pem');
    writeFileSync(anchor, identity.ca.certificatePem);
    host = await new HostileHost(() => identity.leaf.certificateDer).start();
  });
  afterAll(async () => {
    await host.stop();
    tmp.cleanup();
  });

  const fingerprint = () => new X509Certificate(identity.leaf.certificateDer).fingerprint256;
  const source = (overrides: Partial<WebhookVerificationConfig> = {}, now?: () => number): CertificateSource => {
    const config = webhookVerificationSchema.parse({
      certificateHosts: [host.host],
      insecureHttpHosts: [host.host],
      trustAnchors: [anchor],
      certificateFetchTimeoutMs: 2_000,
      certificateMaxBytes: 16 * 1024,
      ...overrides,
    });
    return new CertificateSource(config, now);
  };

  const failure = (promise: Promise<unknown>): Promise<CertificateError> =>
    promise.then(
      () => {
        throw new Error('expected a CertificateError');
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(CertificateError);
        return error as CertificateError;
      },
    );

  it.each(['/missing.cer', '/moved.cer', '/found.cer', '/huge.cer'])(
    '%s: rejects with certificate_fetch_failed and leaves no unhandled stream error behind',
    async (path) => {
      // What would end a service: an error event nobody listens to, surfacing as an uncaught exception.
      const uncaught: unknown[] = [];
      const record = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', record);
      try {
        const error = await failure(source().get(host.url(path)));
        expect(error.problem).toBe('certificate_fetch_failed');
        await settle();
      } finally {
        process.off('uncaughtException', record);
      }
      expect(uncaught).toEqual([]);
    },
  );

  it('never follows a redirect', async () => {
    const before = host.requests.length;
    await failure(source().get(host.url('/found.cer?r=1')));
    await settle();
    expect(host.requests.slice(before)).toEqual(['/found.cer?r=1']);
  });

  it('remembers a failure briefly: the same bad URL is downloaded once per 30 s', async () => {
    let clock = 1_000_000;
    const certificates = source({}, () => clock);
    const before = host.requests.length;
    for (let i = 0; i < 5; i++) expect((await failure(certificates.get(host.url('/missing-negative.cer')))).problem).toBe('certificate_fetch_failed');
    expect(host.requests.length - before).toBe(1);
    clock += 31_000;
    await failure(certificates.get(host.url('/missing-negative.cer')));
    expect(host.requests.length - before).toBe(2);
  });

  it('shares one download among concurrent requests for one URL', async () => {
    const certificates = source();
    const before = host.requests.length;
    const results = await Promise.all(Array.from({ length: 20 }, () => certificates.get(host.url('/good.cer?concurrent'))));
    expect(results.every((r) => r.leaf.fingerprint256 === fingerprint())).toBe(true);
    expect(host.requests.length - before).toBe(1);
  });

  it('bounds downloads per host per minute: past the budget it answers rate-limited with a Retry-After and fetches nothing', async () => {
    let clock = 5_000_000;
    const certificates = source({ certificateDownloadsPerMinute: 3 }, () => clock);
    const before = host.requests.length;
    for (let i = 0; i < 3; i++) await failure(certificates.get(host.url(`/forged-${i}.cer`)));
    clock += 20_000;
    const limited = await failure(certificates.get(host.url('/forged-3.cer')));
    expect(limited.problem).toBe('certificate_rate_limited');
    expect(limited.retryAfterSeconds).toBe(40);
    // The genuine URL too: the budget is per host. But nothing is remembered for it...
    expect((await failure(certificates.get(host.url('/good.cer?budget')))).problem).toBe('certificate_rate_limited');
    expect(host.requests.length - before).toBe(3);
    // ...so once the window has moved on, it downloads and verifies normally.
    clock += 41_000;
    const trusted = await certificates.get(host.url('/good.cer?budget'));
    expect(trusted.leaf.fingerprint256).toBe(fingerprint());
    expect(host.requests.length - before).toBe(4);
  });

  it('keeps a verified certificate pinned while forged URLs on the same host come and go', async () => {
    const certificates = source({ certificateDownloadsPerMinute: 600 });
    const genuine = host.url('/good.cer?genuine');
    await certificates.get(genuine);
    for (let i = 0; i < 300; i++) await failure(certificates.get(host.url(`/bust-${i}.cer`)));
    const before = host.requests.length;
    const again = await certificates.get(genuine);
    expect(again.leaf.fingerprint256).toBe(fingerprint());
    expect(host.requests.length).toBe(before);
  });

  it('keeps using a verified certificate past its cache time while forged URLs have spent the download budget', async () => {
    let clock = 9_000_000;
    const certificates = source({ certificateDownloadsPerMinute: 2, certificateCacheTtlSeconds: 60 }, () => clock);
    const genuine = host.url('/good.cer?stale');
    await certificates.get(genuine);
    clock += 61_000;
    for (let i = 0; i < 2; i++) await failure(certificates.get(host.url(`/spend-${i}.cer`)));
    const before = host.requests.length;
    expect((await certificates.get(genuine)).leaf.fingerprint256).toBe(fingerprint());
    expect(host.requests.length).toBe(before);
  });

  it('treats URLs that differ only in the fragment as one certificate', async () => {
    const certificates = source();
    const before = host.requests.length;
    await certificates.get(host.url('/good.cer?fragment#a'));
    await certificates.get(host.url('/good.cer?fragment#b'));
    expect(host.requests.length - before).toBe(1);
  });
});
