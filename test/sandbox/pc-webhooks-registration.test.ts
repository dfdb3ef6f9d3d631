import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Json, type SandboxClient } from './helpers/sandbox-client.ts';
import { waitFor } from './helpers/wait.ts';
import { WebhookReceiver } from './helpers/webhook-receiver.ts';

const REGISTRATION = '/webhooks/v1/registration';

interface ErrorBody {
  error: { code: string; message: string; target?: string };
}

interface ValidationStatus {
  correlationId: string;
  partnerId: string;
  status: string;
  callbackUrl: string;
  results: Array<{ responseCode: string | null; responseMessage: string | null; systemError: string | null; dateTimeUtc: string }>;
}

describe('Partner Center sandbox — webhook registration', () => {
  let client: SandboxClient;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    // Quick retries so per-attempt results of validation events show up within the test.
    client = await startSandbox({ delivery: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 40, timeoutMs: 2_000 } });
    receiver = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await client.sandbox.close();
    await receiver.stop();
  });
  beforeEach(async () => {
    await client.reset();
    receiver.reset();
  });

  it('lists the supported events', async () => {
    const result = await client.api<string[]>('GET', `${REGISTRATION}/events`);
    expect(result.status).toBe(200);
    expect(result.json).toEqual(
      expect.arrayContaining(['referral-created', 'referral-updated', 'related-referral-created', 'related-referral-updated', 'test-created', 'invoice-ready']),
    );
  });

  it('registers (PascalCase), answers 409 on a second POST, reads back, and updates with PUT (camelCase)', async () => {
    const none = await client.api<ErrorBody>('GET', REGISTRATION);
    expect(none.status).toBe(404);
    expect(none.json.error.code).toBe('itemNotFound');

    const created = await client.api<Json>('POST', REGISTRATION, { WebhookUrl: receiver.url, WebhookEvents: ['referral-created', 'referral-updated'] });
    expect(created.status).toBe(200);
    expect(Object.keys(created.json)).toEqual(['SubscriberId', 'WebhookUrl', 'WebhookEvents']);
    expect(created.json).toMatchObject({ WebhookUrl: receiver.url, WebhookEvents: ['referral-created', 'referral-updated'] });

    const again = await client.api<ErrorBody>('POST', REGISTRATION, { WebhookUrl: receiver.url, WebhookEvents: ['referral-created'] });
    expect(again.status).toBe(409);
    expect(again.json.error.message).toBe('Registration already exists, use the PUT method');

    const read = await client.api<Json>('GET', REGISTRATION);
    expect(read.json).toEqual({ WebhookUrl: receiver.url, WebhookEvents: ['referral-created', 'referral-updated'] });

    const updated = await client.api<Json>('PUT', REGISTRATION, {
      webhookUrl: `${receiver.url}?v=2`,
      webhookEvents: ['Referral-Updated', 'related-referral-updated'],
      signatureTokenToMsSignatureHeader: true,
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toEqual({ SubscriberId: created.json.SubscriberId, WebhookUrl: `${receiver.url}?v=2`, WebhookEvents: ['referral-updated', 'related-referral-updated'] });
    const state = await client.control<Json>('GET', '/webhooks/registration');
    expect(state.json.signatureTokenToMsSignatureHeader).toBe(true);
  });

  it('creates a registration with PUT when none exists', async () => {
    const result = await client.api<Json>('PUT', REGISTRATION, { WebhookUrl: receiver.url, WebhookEvents: ['referral-created'] });
    expect(result.status).toBe(200);
    expect((await client.api('GET', REGISTRATION)).status).toBe(200);
  });

  it.each([
    ['a relative URL', { WebhookUrl: '/hooks', WebhookEvents: ['referral-created'] }, 'WebhookUrl'],
    ['an ftp URL', { WebhookUrl: 'ftp://example.com/x', WebhookEvents: ['referral-created'] }, 'WebhookUrl'],
    ['an unknown event', { WebhookUrl: 'https://example.com/x', WebhookEvents: ['referral-deleted'] }, 'WebhookEvents[0]'],
    ['no events list', { WebhookUrl: 'https://example.com/x' }, 'WebhookEvents'],
  ])('rejects %s with 400', async (_label, body, target) => {
    const result = await client.api<ErrorBody>('POST', REGISTRATION, body);
    expect(result.status).toBe(400);
    expect(result.json.error).toMatchObject({ code: 'invalidRequest', target });
    expect((await client.api('GET', REGISTRATION)).status).toBe(404);
  });

  describe('validation events', () => {
    it('require a registration with test-created', async () => {
      const unregistered = await client.api<ErrorBody>('POST', `${REGISTRATION}/validationEvents`);
      expect(unregistered.status).toBe(400);
      expect(unregistered.json.error.message).toContain('test-created');
      await client.register(receiver.url, ['referral-created']);
      const withoutTest = await client.api<ErrorBody>('POST', `${REGISTRATION}/validationEvents`);
      expect(withoutTest.status).toBe(400);
    });

    it('deliver a signed test-created event and report one result per attempt, then throttle at 2 per minute', async () => {
      await client.register(receiver.url, ['test-created']);
      receiver.respond = (_request, index) => (index === 0 ? { status: 500, body: 'boom' } : { status: 200, body: 'thanks' });

      const sent = await client.api<{ correlationId: string }>('POST', `${REGISTRATION}/validationEvents`);
      expect(sent.status).toBe(200);
      const { correlationId } = sent.json;
      expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);

      const path = `${REGISTRATION}/validationEvents/${correlationId}`;
      const done = await waitFor(async () => {
        const status = (await client.api<ValidationStatus>('GET', path)).json;
        return status.status === 'completed' && status;
      }, 5_000, 'validation event completion');
      expect(done).toMatchObject({ correlationId, callbackUrl: receiver.url });
      expect(done.partnerId).toBe('7d23e5ca-19dc-4eaa-aac8-5e6b559f0d1d');
      expect(done.results.map((r) => r.responseCode)).toEqual(['InternalServerError', 'OK']);
      expect(done.results[0]?.responseMessage).toBe('boom');
      expect(done.results.every((r) => r.systemError === null && !Number.isNaN(Date.parse(r.dateTimeUtc)))).toBe(true);

      const event = receiver.requests[0]?.json as Json;
      expect(event).toEqual({
        EventName: 'test-created',
        ResourceUri: `${client.url}/webhooks/v1/registration/validationEvents/${correlationId}`,
        ResourceName: 'test',
        AuditUri: null,
        ResourceChangeUtcDate: expect.any(String),
      });
      expect(receiver.requests[0]?.headers.authorization).toMatch(/^Signature /);

      const second = await client.api('POST', `${REGISTRATION}/validationEvents`);
      expect(second.status).toBe(200);
      const third = await client.api<ErrorBody>('POST', `${REGISTRATION}/validationEvents`);
      expect(third.status).toBe(429);
      const retryAfter = Number(third.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(third.json.error.message).toContain('2 per minute');
    });

    it('report a pending status while retrying, systemError for unreachable callbacks, and 404 for unknown ids', async () => {
      const unknown = await client.api<ErrorBody>('GET', `${REGISTRATION}/validationEvents/00000000-0000-0000-0000-000000000000`);
      expect(unknown.status).toBe(404);

      // A callback nobody listens on: connection refused on every attempt.
      const dead = new WebhookReceiver();
      await dead.start();
      const deadUrl = dead.url;
      await dead.stop();
      const fresh = await startSandbox({ delivery: { maxAttempts: 2, initialDelayMs: 150, maxDelayMs: 150, timeoutMs: 1_000 } });
      try {
        await fresh.register(deadUrl, ['test-created']);
        const { correlationId } = (await fresh.api<{ correlationId: string }>('POST', `${REGISTRATION}/validationEvents`)).json;
        const path = `${REGISTRATION}/validationEvents/${correlationId}`;
        const pending = await waitFor(async () => {
          const status = (await fresh.api<ValidationStatus>('GET', path)).json;
          return status.results.length === 1 && status;
        }, 3_000, 'first attempt');
        expect(pending.status).toBe('pending');
        const completed = await waitFor(async () => {
          const status = (await fresh.api<ValidationStatus>('GET', path)).json;
          return status.status === 'completed' && status;
        }, 3_000, 'completion');
        expect(completed.results).toHaveLength(2);
        expect(completed.results[0]?.responseCode).toBeNull();
        expect(completed.results[0]?.systemError).toMatch(/ECONNREFUSED/);
      } finally {
        await fresh.sandbox.close();
      }
    });
  });
});
