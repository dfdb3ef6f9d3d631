import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestHarness } from '../support/ingest-harness.ts';
import { CertificateHost, makeIdentity, partnerCenterEvent, signedHeaders, type SigningIdentity } from '../support/webhook-signer.ts';

/*
 * The Partner Center route against what an attacker can send that a signature check alone does not stop: certificate
 * URLs on the allowed host that answer 404 or redirect, a flood of distinct certificate URLs, validly signed bodies
 * nested 20,000 deep, bodies that never finish arriving.
 */

describe('Partner Center webhook route under attack', () => {
  const certHost = new CertificateHost();
  let h: IngestHarness;
  let trusted: SigningIdentity;
  let certUrl: string;
  const DOWNLOADS_PER_MINUTE = 5;

  const post = (body: string | Buffer, headers: Record<string, string>) =>
    fetch(`${h.url}/webhooks/partner-center`, { method: 'POST', body, headers });
  /** Read from the service's registry (what /metrics serves), wherever the admin listener lives. */
  const rejections = async (reason: string): Promise<number> => {
    const text = await h.service.metrics.registry.getSingleMetricAsString('cosell_webhook_rejections_total');
    const match = new RegExp(`cosell_webhook_rejections_total\\{source="partner-center",reason="${reason}"\\} (\\d+)`).exec(text);
    return Number(match?.[1] ?? 0);
  };

  beforeAll(async () => {
    await certHost.start();
    trusted = await makeIdentity();
    certUrl = certHost.serve('/cert/signing.cer', trusted.leaf.certificateDer);
    h = await IngestHarness.start({
      trustAnchorPem: trusted.ca.certificatePem,
      webhooks: {
        certificateHosts: [certHost.host],
        insecureHttpHosts: [certHost.host],
        certificateFetchTimeoutMs: 1_000,
        certificateDownloadsPerMinute: DOWNLOADS_PER_MINUTE,
      },
    });
  });

  afterAll(async () => {
    await h?.close();
    await certHost.stop();
  });

  it('accepts a genuine event first (its certificate is now verified and pinned)', async () => {
    const body = partnerCenterEvent(randomUUID());
    expect((await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, certUrl))).status).toBe(200);
  });

  it('rejects a validly signed event nested 20,000 deep with 400 too_deep, stores nothing', async () => {
    const body = `{"EventName":"referral-updated","ResourceUri":"https://x/referrals/1","ResourceChangeUtcDate":"2025-01-01T00:00:00Z","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const stored = await h.store.inbox.count();
    const counted = await rejections('too_deep');
    const response = await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, certUrl));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('too_deep');
    expect(await h.store.inbox.count()).toBe(stored);
    expect(await rejections('too_deep')).toBe(counted + 1);
  });

  it('still accepts brackets inside strings', async () => {
    const event = JSON.parse(partnerCenterEvent(randomUUID())) as Record<string, unknown>;
    const body = JSON.stringify({ ...event, Note: '['.repeat(5_000) });
    expect((await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, certUrl))).status).toBe(200);
  });

  it('answers 503 for a certificate URL on the allowed host that is 404, and keeps serving', async () => {
    const body = partnerCenterEvent(randomUUID());
    const stored = await h.store.inbox.count();
    const response = await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, `${certHost.url}/no/such.cer`));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('certificate_fetch_failed');
    expect(await h.store.inbox.count()).toBe(stored);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  it('bounds certificate downloads per host: a flood of forged URLs gets 503 + Retry-After, the genuine certificate stays usable', async () => {
    const before = certHost.requests.length;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 40; i++) {
      const body = partnerCenterEvent(randomUUID());
      const response = await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, `${certHost.url}/forged/${i}.cer`));
      statuses.push(response.status);
      if (response.status === 503 && (await response.json() as { error: { code: string } }).error.code === 'certificate_rate_limited') {
        retryAfter ??= response.headers.get('retry-after');
      }
    }
    expect(statuses.every((s) => s === 503)).toBe(true);
    // The genuine certificate and the 404 test above spent two downloads of this minute's budget.
    expect(certHost.requests.length - before).toBe(DOWNLOADS_PER_MINUTE - 2);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    expect(await rejections('certificate_rate_limited')).toBeGreaterThanOrEqual(40 - DOWNLOADS_PER_MINUTE);

    const body = partnerCenterEvent(randomUUID());
    expect((await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, certUrl))).status).toBe(200);
  });

  it('answers 408 to a body that does not arrive in time, and stores nothing', async () => {
    const stored = await h.store.inbox.count();
    const { port } = new URL(h.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'POST', path: '/webhooks/partner-center', headers: { 'content-type': 'application/json', 'content-length': '1000' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      // A few bytes, then silence: the rest never comes.
      req.write('{"EventName":');
    });
    expect(status).toBe(408);
    expect(await h.store.inbox.count()).toBe(stored);
  }, 30_000);
});
