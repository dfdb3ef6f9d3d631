import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate, signBody } from '../../src/sandbox/shared/certificates.ts';
import { IngestHarness } from '../support/ingest-harness.ts';
import {
  CertificateHost,
  makeIdentity,
  partnerCenterEvent,
  signedHeaders,
  type SigningIdentity,
} from '../support/webhook-signer.ts';
import { adminFetch } from '../support/admin.ts';

interface EventsResponse {
  events: Array<{ id: number; eventName: string; resourceId: string | null; deliveries: number }>;
}

describe('POST /webhooks/partner-center', () => {
  const certHost = new CertificateHost();
  const foreignHost = new CertificateHost();
  let h: IngestHarness;
  let trusted: SigningIdentity;
  let certUrl: string;

  const post = (body: string | Buffer, headers: Record<string, string>) =>
    fetch(`${h.url}/webhooks/partner-center`, { method: 'POST', body, headers });
  const storedCount = () => h.store.inbox.count();
  const rejections = async (): Promise<Record<string, number>> => {
    const text = await (await adminFetch(`${h.adminUrl}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/cosell_webhook_rejections_total\{source="partner-center",reason="([a-z_]+)"\} (\d+)/g)) {
      out[m[1] as string] = Number(m[2]);
    }
    return out;
  };

  beforeAll(async () => {
    await certHost.start();
    await foreignHost.start();
    trusted = await makeIdentity();
    certUrl = certHost.serve('/cert/signing.cer', trusted.leaf.certificateDer);
    h = await IngestHarness.start({
      trustAnchorPem: trusted.ca.certificatePem,
      webhooks: { certificateHosts: [certHost.host], insecureHttpHosts: [certHost.host], certificateFetchTimeoutMs: 500, certificateMaxBytes: 16 * 1024 },
    });
  });

  afterAll(async () => {
    await h?.close();
    await certHost.stop();
    await foreignHost.stop();
  });

  it('accepts a correctly signed event, stores it and lists it newest first', async () => {
    const first = partnerCenterEvent('11111111-1111-1111-1111-111111111111', 'referral-created');
    const second = partnerCenterEvent('22222222-2222-2222-2222-222222222222', 'referral-updated');
    for (const body of [first, second]) {
      const res = await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, certUrl));
      expect(res.status).toBe(200);
    }
    const list = (await (await adminFetch(`${h.adminUrl}/api/events`)).json()) as EventsResponse;
    expect(list.events.map((e) => e.resourceId)).toEqual([
      '22222222-2222-2222-2222-222222222222',
      '11111111-1111-1111-1111-111111111111',
    ]);
    expect(list.events[1]?.eventName).toBe('referral-created');
  });

  it('fetches the certificate once and serves later requests from the cache', async () => {
    const before = certHost.requests.length;
    for (let i = 0; i < 3; i++) {
      const body = partnerCenterEvent(randomUUID());
      expect((await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, certUrl))).status).toBe(200);
    }
    expect(certHost.requests.length).toBe(before);
  });

  it('accepts the signature in x-ms-signature (SignatureTokenToMsSignatureHeader)', async () => {
    const body = partnerCenterEvent(randomUUID());
    const res = await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, certUrl, 'x-ms-signature'));
    expect(res.status).toBe(200);
  });

  it('deduplicates a redelivery of the same notification', async () => {
    const id = randomUUID();
    const body = partnerCenterEvent(id);
    const a = await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, certUrl));
    const b = await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, certUrl));
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(((await b.json()) as { duplicate: boolean }).duplicate).toBe(true);
    const list = (await (await adminFetch(`${h.adminUrl}/api/events?resourceId=${id}`)).json()) as EventsResponse;
    expect(list.events).toHaveLength(1);
    expect(list.events[0]?.deliveries).toBe(2);
  });

  describe('rejections store nothing and are counted by reason', () => {
    const cases: Array<{
      name: string;
      reason: string;
      status: number;
      request: () => Promise<{ body: string | Buffer; headers: Record<string, string> }>;
    }> = [
      {
        name: 'forged signature (other key)',
        reason: 'signature_invalid',
        status: 401,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const attacker = await makeIdentity();
          return { body, headers: signedHeaders(body, attacker.leaf.privateKeyPem, certUrl) };
        },
      },
      {
        name: 'tampered body',
        reason: 'signature_invalid',
        status: 401,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const headers = signedHeaders(body, trusted.leaf.privateKeyPem, certUrl);
          return { body: body.replace('referral-updated', 'referral-created'), headers };
        },
      },
      {
        name: 'missing signature header',
        reason: 'missing_signature',
        status: 401,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const { authorization: _drop, ...headers } = signedHeaders(body, trusted.leaf.privateKeyPem, certUrl);
          return { body, headers };
        },
      },
      {
        name: 'wrong authorization scheme',
        reason: 'bad_signature_scheme',
        status: 401,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const headers = signedHeaders(body, trusted.leaf.privateKeyPem, certUrl);
          return { body, headers: { ...headers, authorization: `Bearer ${signBody(trusted.leaf.privateKeyPem, body)}` } };
        },
      },
      {
        name: 'missing certificate url',
        reason: 'missing_certificate_url',
        status: 400,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const { 'x-ms-certificate-url': _drop, ...headers } = signedHeaders(body, trusted.leaf.privateKeyPem, certUrl);
          return { body, headers };
        },
      },
      {
        name: 'missing algorithm',
        reason: 'missing_algorithm',
        status: 400,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const { 'x-ms-signature-algorithm': _drop, ...headers } = signedHeaders(
            body,
            trusted.leaf.privateKeyPem,
            certUrl,
          );
          return { body, headers };
        },
      },
      {
        name: 'certificate url on a foreign host',
        reason: 'certificate_url_not_allowed',
        status: 401,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const url = foreignHost.serve('/evil.cer', trusted.leaf.certificateDer);
          return { body, headers: signedHeaders(body, trusted.leaf.privateKeyPem, url) };
        },
      },
      {
        name: 'expired certificate',
        reason: 'certificate_expired',
        status: 401,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const expired = await issueCertificate(trusted.ca, {
            subject: 'CN=pcnotifications-dispatch.test, O=Microsoft Corporation',
            notBefore: new Date(Date.now() - 10 * 86_400_000),
            notAfter: new Date(Date.now() - 86_400_000),
          });
          const url = certHost.serve('/cert/expired.cer', expired.certificateDer);
          return { body, headers: signedHeaders(body, expired.privateKeyPem, url) };
        },
      },
      {
        name: 'certificate from an untrusted CA',
        reason: 'certificate_untrusted',
        status: 401,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const rogue = await makeIdentity();
          const url = certHost.serve('/cert/rogue.cer', rogue.leaf.certificatePem);
          return { body, headers: signedHeaders(body, rogue.leaf.privateKeyPem, url) };
        },
      },
      {
        name: 'certificate of another organization',
        reason: 'certificate_organization',
        status: 401,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const other = await issueCertificate(trusted.ca, { subject: 'CN=notifications.example, O=Contoso Ltd' });
          const url = certHost.serve('/cert/contoso.cer', other.certificateDer);
          return { body, headers: signedHeaders(body, other.privateKeyPem, url) };
        },
      },
      {
        name: 'certificate download times out',
        reason: 'certificate_fetch_failed',
        status: 503,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const url = certHost.serve('/cert/slow.cer', trusted.leaf.certificateDer, 2_000);
          return { body, headers: signedHeaders(body, trusted.leaf.privateKeyPem, url) };
        },
      },
      {
        name: 'certificate larger than the cap',
        reason: 'certificate_fetch_failed',
        status: 503,
        request: async () => {
          const body = partnerCenterEvent(randomUUID());
          const url = certHost.serve('/cert/huge.cer', Buffer.alloc(64 * 1024, 1));
          return { body, headers: signedHeaders(body, trusted.leaf.privateKeyPem, url) };
        },
      },
      {
        name: 'malformed JSON with a valid signature',
        reason: 'malformed_json',
        status: 400,
        request: async () => {
          const body = '{"EventName": "referral-updated",';
          return { body, headers: signedHeaders(body, trusted.leaf.privateKeyPem, certUrl) };
        },
      },
      {
        name: 'valid JSON that is not a Partner Center event',
        reason: 'invalid_payload',
        status: 400,
        request: async () => {
          const body = JSON.stringify({ hello: 'world' });
          return { body, headers: signedHeaders(body, trusted.leaf.privateKeyPem, certUrl) };
        },
      },
      {
        name: 'oversized body',
        reason: 'body_too_large',
        status: 413,
        request: async () => {
          const body = JSON.stringify({ EventName: 'referral-updated', padding: 'x'.repeat(300 * 1024) });
          return { body, headers: signedHeaders(body, trusted.leaf.privateKeyPem, certUrl) };
        },
      },
    ];

    for (const c of cases) {
      it(`${c.name} → ${c.status} ${c.reason}`, async () => {
        const { body, headers } = await c.request();
        const before = await storedCount();
        const countsBefore = await rejections();
        const res = await post(body, headers);
        expect(res.status).toBe(c.status);
        expect(await storedCount()).toBe(before);
        const counts = await rejections();
        expect(counts[c.reason] ?? 0).toBe((countsBefore[c.reason] ?? 0) + 1);
      });
    }

    it('never fetches a certificate from a host that is not allowlisted', () => {
      expect(foreignHost.requests).toEqual([]);
    });
  });

  it('rejects an https certificate url whose host is not allowlisted without fetching it', async () => {
    const body = partnerCenterEvent(randomUUID());
    const res = await post(body, signedHeaders(body, trusted.leaf.privateKeyPem, 'https://attacker.example/x.cer'));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('certificate_url_not_allowed');
  });

  it('exposes health and rejects bad admin queries with a reason', async () => {
    const health = await fetch(`${h.url}/healthz`);
    expect(health.status).toBe(200);
    const bad = await adminFetch(`${h.adminUrl}/api/events?limit=100000`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/limit/);
  });
});
