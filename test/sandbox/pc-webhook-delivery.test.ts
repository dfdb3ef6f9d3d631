import { X509Certificate, verify } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../src/sandbox/shared/webhook-delivery-queue.ts';
import { DOC_CREATE_REQUEST } from './helpers/doc-samples.ts';
import { startSandbox, type Json, type SandboxClient } from './helpers/sandbox-client.ts';
import { sleep, waitFor } from './helpers/wait.ts';
import { WebhookReceiver, type ReceivedRequest } from './helpers/webhook-receiver.ts';

const REFERRALS = '/v1.0/engagements/referrals';
const ALL_REFERRAL_EVENTS = ['referral-created', 'referral-updated', 'related-referral-created', 'related-referral-updated'];

describe('Partner Center sandbox — webhook event delivery', () => {
  let client: SandboxClient;
  let receiver: WebhookReceiver;
  let signingKey: X509Certificate;

  beforeAll(async () => {
    client = await startSandbox({ delivery: { maxAttempts: 3, initialDelayMs: 30, maxDelayMs: 60, timeoutMs: 300 } });
    receiver = await new WebhookReceiver().start();
    signingKey = new X509Certificate(Buffer.from(await (await fetch(client.sandbox.signingCertificateUrl)).arrayBuffer()));
  });
  afterAll(async () => {
    await client.sandbox.close();
    await receiver.stop();
  });
  beforeEach(async () => {
    await client.reset();
    receiver.reset();
  });

  const uriOf = (id: unknown): string => `${client.url}/engagements/v1/referrals/${String(id)}`;
  const eventsReceived = (count: number): Promise<ReceivedRequest[]> =>
    waitFor(() => receiver.requests.length >= count && receiver.requests, 5_000, `${count} deliveries`);
  const deliveries = async (): Promise<DeliveryRecord[]> => (await client.control<{ value: DeliveryRecord[] }>('GET', '/webhooks/deliveries')).json.value;
  const settledDeliveries = (count: number): Promise<DeliveryRecord[]> =>
    waitFor(async () => {
      const log = await deliveries();
      return log.length >= count && log.every((d) => d.status !== 'pending') && log;
    }, 5_000, `${count} settled deliveries`);

  function verifySignature(request: ReceivedRequest, header: 'authorization' | 'x-ms-signature'): boolean {
    const value = String(request.headers[header]);
    const [scheme, signature = ''] = value.split(' ');
    expect(scheme).toBe('Signature');
    return verify('RSA-SHA256', request.rawBody, signingKey.publicKey, Buffer.from(signature, 'base64'));
  }

  it('delivers referral-created and referral-updated with the documented payload and signed headers', async () => {
    await client.register(receiver.url, ['referral-created', 'referral-updated']);
    const created = (await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST)).json;
    await eventsReceived(1);
    await client.api('PATCH', `${REFERRALS}/${String(created.id)}`, [{ op: 'replace', path: '/details/notes', value: 'n' }]);
    const [first, second] = await eventsReceived(2);
    if (!first || !second) throw new Error('missing deliveries');

    expect(first.method).toBe('POST');
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['x-ms-certificate-url']).toBe(client.sandbox.signingCertificateUrl);
    expect(first.headers['x-ms-signature-algorithm']).toBe('rsa-sha256');
    expect(first.headers['x-ms-signature']).toBeUndefined();
    expect(verifySignature(first, 'authorization')).toBe(true);

    expect(Object.keys(first.json as Json)).toEqual(['EventName', 'ResourceUri', 'ResourceName', 'AuditUri', 'ResourceChangeUtcDate']);
    expect(first.json).toMatchObject({ EventName: 'referral-created', ResourceUri: uriOf(created.id), ResourceName: 'referral', AuditUri: null });
    expect((first.json as Json).ResourceChangeUtcDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}\+00:00$/);
    expect(second.json).toMatchObject({ EventName: 'referral-updated', ResourceUri: uriOf(created.id) });
    const updated = (await client.api<Json>('GET', `${REFERRALS}/${String(created.id)}`)).json;
    expect(Date.parse(String((second.json as Json).ResourceChangeUtcDate))).toBe(Date.parse(String(updated.updatedDateTime)));
  });

  it('sends only the events the registration subscribes to', async () => {
    await client.register(receiver.url, ['referral-updated']);
    const created = (await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST)).json;
    await client.api('PATCH', `${REFERRALS}/${String(created.id)}`, [{ op: 'replace', path: '/name', value: 'x' }]);
    await eventsReceived(1);
    await sleep(100);
    expect(receiver.events().map((e) => e.EventName)).toEqual(['referral-updated']);
  });

  it('puts the signature in x-ms-signature (and no Authorization) when SignatureTokenToMsSignatureHeader is set', async () => {
    await client.register(receiver.url, ['referral-created'], { SignatureTokenToMsSignatureHeader: true });
    await client.createIncoming({ microsoftSide: false });
    const [delivery] = await eventsReceived(1);
    if (!delivery) throw new Error('no delivery');
    expect(delivery.headers.authorization).toBeUndefined();
    expect(verifySignature(delivery, 'x-ms-signature')).toBe(true);
  });

  it("raises related-referral events on the partner's referral when Microsoft's side is created or changed", async () => {
    await client.register(receiver.url, ALL_REFERRAL_EVENTS);
    const partner = await client.createIncoming({ microsoftSide: true });
    await eventsReceived(2);
    await sleep(50);
    expect(receiver.events().map((e) => [e.EventName, e.ResourceUri])).toEqual([
      ['referral-created', uriOf(partner.id)],
      ['related-referral-created', uriOf(partner.id)],
    ]);

    receiver.reset();
    const all = (await client.control<{ value: Json[] }>('GET', '/referrals')).json.value;
    const microsoft = all.find((r) => r.organizationId === 'msft');
    await client.control('PATCH', `/referrals/${String(microsoft?.id)}`, { status: 'Closed', substatus: 'Won' });
    await eventsReceived(1);
    await sleep(50);
    // Microsoft's referral is not the partner's: the change reaches the partner only as a related-referral event.
    expect(receiver.events().map((e) => [e.EventName, e.ResourceUri])).toEqual([['related-referral-updated', uriOf(partner.id)]]);
  });

  it('raises related-referral-created for the existing referral when a connected referral joins its engagement', async () => {
    await client.register(receiver.url, ALL_REFERRAL_EVENTS);
    const first = (await client.api<Json>('POST', REFERRALS, DOC_CREATE_REQUEST)).json;
    await eventsReceived(1);
    const connected = (await client.api<Json>('POST', REFERRALS, { ...DOC_CREATE_REQUEST, engagementId: first.engagementId })).json;
    await eventsReceived(3);
    await sleep(50);
    expect(receiver.events().slice(1).map((e) => [e.EventName, e.ResourceUri]).sort()).toEqual(
      [['referral-created', uriOf(connected.id)], ['related-referral-created', uriOf(first.id)]].sort(),
    );
  });

  it('retries failed deliveries with the same signed body until one succeeds', async () => {
    await client.register(receiver.url, ['referral-created']);
    receiver.respond = (_request, index) => (index < 2 ? { status: 503, body: 'busy' } : { status: 202 });
    await client.createIncoming({ microsoftSide: false });
    const received = await eventsReceived(3);
    const [record] = await settledDeliveries(1);
    expect(record?.status).toBe('delivered');
    expect(record?.attempts.map((a) => a.statusCode)).toEqual([503, 503, 202]);
    expect(record?.attempts[0]?.responseBody).toBe('busy');
    expect(new Set(received.map((r) => r.rawBody.toString('utf8'))).size).toBe(1);
    expect(new Set(received.map((r) => r.headers.authorization)).size).toBe(1);
    const gaps = received.slice(1).map((r, i) => r.receivedAt - (received[i]?.receivedAt ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(25);
    expect(gaps[1]).toBeGreaterThanOrEqual(55);
  });

  it('moves an event to the offline queue after maxAttempts, and redelivers it on request', async () => {
    await client.register(receiver.url, ['referral-created']);
    receiver.respond = () => ({ status: 500, body: 'down' });
    await client.createIncoming({ microsoftSide: false });
    const [record] = await settledDeliveries(1);
    expect(record?.status).toBe('offline');
    expect(record).toMatchObject({ event: 'referral-created', url: receiver.url });
    expect(record?.attempts).toHaveLength(3);
    await sleep(150);
    expect(receiver.requests).toHaveLength(3);

    const offline = await client.control<{ count: number; value: DeliveryRecord[] }>('GET', '/webhooks/offline-queue');
    expect(offline.json.count).toBe(1);
    expect(offline.json.value[0]?.id).toBe(record?.id);

    receiver.respond = () => ({ status: 200 });
    const redelivered = await client.control<{ redelivered: number }>('POST', '/webhooks/offline-queue/redeliver');
    expect(redelivered.json.redelivered).toBe(1);
    const [after] = await settledDeliveries(1);
    expect(after?.status).toBe('delivered');
    expect(after?.attempts).toHaveLength(4);
    expect((await client.control<{ count: number }>('GET', '/webhooks/offline-queue')).json.count).toBe(0);
  });

  it('treats a slow receiver as a failed attempt (per-attempt timeout)', async () => {
    await client.register(receiver.url, ['referral-created']);
    receiver.respond = (_request, index) => (index === 0 ? { status: 200, delayMs: 1_000 } : { status: 200 });
    await client.createIncoming({ microsoftSide: false });
    const [record] = await settledDeliveries(1);
    expect(record?.status).toBe('delivered');
    expect(record?.attempts[0]?.statusCode).toBeNull();
    expect(record?.attempts[0]?.error).toContain('timed out');
    expect(record?.attempts[1]?.statusCode).toBe(200);
  });

  it('does not raise events for seeding with events: false, and does with events: true', async () => {
    await client.register(receiver.url, ['referral-created']);
    await client.control('POST', '/referrals/seed', { count: 5, events: false });
    await sleep(100);
    expect(receiver.requests).toHaveLength(0);
    await client.control('POST', '/referrals/seed', { count: 2 });
    await eventsReceived(2);
  });

  describe('delivery faults', () => {
    it('drops deliveries', async () => {
      await client.register(receiver.url, ['referral-created']);
      await client.control('POST', '/faults', { delivery: { dropRate: 1 } });
      await client.createIncoming({ microsoftSide: false });
      const [record] = await settledDeliveries(1);
      expect(record?.status).toBe('dropped');
      await sleep(100);
      expect(receiver.requests).toHaveLength(0);
    });

    it('duplicates deliveries', async () => {
      await client.register(receiver.url, ['referral-created']);
      await client.control('POST', '/faults', { delivery: { duplicateRate: 1 } });
      await client.createIncoming({ microsoftSide: false });
      const received = await eventsReceived(2);
      await sleep(100);
      expect(received).toHaveLength(2);
      expect(received[0]?.rawBody.equals(received[1]?.rawBody ?? Buffer.alloc(0))).toBe(true);
      expect((await deliveries()).map((d) => d.duplicate).sort()).toEqual([false, true]);
    });

    it('delays deliveries', async () => {
      await client.register(receiver.url, ['referral-created']);
      await client.control('POST', '/faults', { delivery: { delayMs: 300 } });
      const started = Date.now();
      await client.createIncoming({ microsoftSide: false });
      const [delivery] = await eventsReceived(1);
      expect((delivery?.receivedAt ?? 0) - started).toBeGreaterThanOrEqual(290);
    });

    it('reorders deliveries', async () => {
      await client.register(receiver.url, ['referral-created']);
      await client.control('POST', '/faults', { delivery: { reorder: true, delayMs: 100 } });
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) ids.push(String((await client.createIncoming({ microsoftSide: false })).id));
      await eventsReceived(3);
      expect(receiver.events().map((e) => e.ResourceUri)).toEqual(ids.reverse().map(uriOf));
    });

    it('applies seeded rates deterministically', async () => {
      await client.register(receiver.url, ['referral-created']);
      const run = async (): Promise<string[]> => {
        await client.control('DELETE', '/webhooks/deliveries');
        await client.control('POST', '/faults', { seed: 42, delivery: { dropRate: 0.5 } });
        for (let i = 0; i < 8; i += 1) await client.createIncoming({ microsoftSide: false });
        return (await settledDeliveries(8)).map((d) => d.status);
      };
      const first = await run();
      const second = await run();
      expect(first).toEqual(second);
      expect(first).toContain('dropped');
      expect(first).toContain('delivered');
    });
  });
});
