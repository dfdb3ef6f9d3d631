import { afterEach, describe, expect, it } from 'vitest';
import { PartnerCenterApiError } from '../../../src/partner-center/api-error.ts';
import { StaticTokenProvider } from '../../../src/http/tokens.ts';
import { RegistrationExistsError, WebhooksClient } from '../../../src/partner-center/webhooks-client.ts';
import { UUID_PATTERN, startScriptedServer, type ScriptedReply, type ScriptedServer } from './scripted-server.ts';

const EVENTS = ['referral-created', 'referral-updated', 'related-referral-created', 'related-referral-updated'];

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(script: ScriptedReply[]) {
  server = await startScriptedServer(script);
  const client = new WebhooksClient({
    baseUrl: server.url,
    tokenProvider: new StaticTokenProvider('webhooks-token'),
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
  return { client, server };
}

describe('WebhooksClient registration', () => {
  it('registers with the documented PascalCase body and reads a PascalCase response', async () => {
    const { client, server } = await setup([
      { status: 200, body: { SubscriberId: 'sub-1', WebhookUrl: 'https://sync.example.com/webhooks/partner-center', WebhookEvents: EVENTS } },
    ]);
    const registration = await client.register({
      webhookUrl: 'https://sync.example.com/webhooks/partner-center',
      webhookEvents: EVENTS,
      signatureTokenToMsSignatureHeader: true,
    });
    expect(registration).toMatchObject({ subscriberId: 'sub-1', webhookUrl: 'https://sync.example.com/webhooks/partner-center', webhookEvents: EVENTS });
    const request = server.requests[0];
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/webhooks/v1/registration');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      WebhookUrl: 'https://sync.example.com/webhooks/partner-center',
      WebhookEvents: EVENTS,
      SignatureTokenToMsSignatureHeader: true,
    });
    expect(request?.headers.authorization).toBe('Bearer webhooks-token');
    expect(request?.headers['ms-requestid']).toMatch(UUID_PATTERN);
    expect(request?.headers['ms-correlationid']).toBe(request?.headers['client-request-id']);
  });

  it('reads the Swagger camelCase registration, keeping extra fields', async () => {
    const { client, server } = await setup([
      {
        status: 200,
        body: {
          subscriberId: 's',
          webhookUrl: 'https://a/b',
          webhookEvents: ['referral-created'],
          signatureTokenToMsSignatureHeader: false,
          lastModifiedTimestamp: '2024-01-01T00:00:00Z',
          properties: { k: 'v' },
          somethingNew: 1,
        },
      },
    ]);
    const registration = await client.getRegistration();
    expect(registration).toMatchObject({
      webhookUrl: 'https://a/b',
      webhookEvents: ['referral-created'],
      signatureTokenToMsSignatureHeader: false,
      lastModifiedTimestamp: '2024-01-01T00:00:00Z',
      properties: { k: 'v' },
      somethingNew: 1,
    });
    expect(server.requests[0]?.method).toBe('GET');
  });

  it('returns null when the tenant has no registration', async () => {
    const { client } = await setup([{ status: 404, body: { code: 404, description: 'not found' } }]);
    expect(await client.getRegistration()).toBeNull();
  });

  it('turns 409 into RegistrationExistsError', async () => {
    const { client, server } = await setup([
      { status: 409, body: { error: { code: 'conflict', message: 'Registration already exists, use the PUT method' } } },
    ]);
    const error = await client.register({ webhookUrl: 'https://a/b', webhookEvents: EVENTS }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RegistrationExistsError);
    expect(error).toBeInstanceOf(PartnerCenterApiError);
    expect((error as RegistrationExistsError).apiMessage).toMatch(/use the PUT method/);
    expect(server.requests).toHaveLength(1);
  });

  it('updates with PUT', async () => {
    const { client, server } = await setup([{ status: 200, body: { WebhookUrl: 'https://new/url', WebhookEvents: ['referral-updated'] } }]);
    const registration = await client.updateRegistration({ webhookUrl: 'https://new/url', webhookEvents: ['referral-updated'] });
    expect(registration.webhookUrl).toBe('https://new/url');
    expect(registration.subscriberId).toBeUndefined();
    expect(server.requests[0]?.method).toBe('PUT');
    expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({ WebhookUrl: 'https://new/url', WebhookEvents: ['referral-updated'] });
  });

  it('validates the registration before sending', async () => {
    const { client, server } = await setup([{ status: 200, body: {} }]);
    await expect(client.register({ webhookUrl: 'not-a-url', webhookEvents: EVENTS })).rejects.toThrow(/absolute http\(s\) URL/);
    await expect(client.register({ webhookUrl: 'https://a/b', webhookEvents: [] })).rejects.toThrow(/at least one event/);
    expect(server.requests).toHaveLength(0);
  });

  it('rejects a response that repeats a key in two casings with different values', async () => {
    const { client } = await setup([{ status: 200, body: { WebhookUrl: 'https://a', webhookUrl: 'https://b', WebhookEvents: [] } }]);
    await expect(client.getRegistration()).rejects.toThrow(/webhookUrl: sent twice in different letter cases/);
  });
});

describe('WebhooksClient events and test events', () => {
  it('lists supported events from a bare array or an envelope', async () => {
    const { client, server } = await setup([{ status: 200, body: EVENTS }, { status: 200, body: { Value: ['test-created'] } }]);
    expect(await client.listEvents()).toEqual(EVENTS);
    expect(await client.listEvents()).toEqual(['test-created']);
    expect(server.requests[0]?.url).toBe('/webhooks/v1/registration/events');
  });

  it('sends a test event and reads its correlation id in either casing', async () => {
    const { client, server } = await setup([
      { status: 200, body: { CorrelationId: '7fe7d1a6-0000-0000-0000-000000000001' } },
      { status: 200, body: { correlationId: '7fe7d1a6-0000-0000-0000-000000000002' } },
    ]);
    expect(await client.sendTestEvent()).toEqual({ correlationId: '7fe7d1a6-0000-0000-0000-000000000001' });
    expect(await client.sendTestEvent()).toEqual({ correlationId: '7fe7d1a6-0000-0000-0000-000000000002' });
    expect(server.requests[0]?.url).toBe('/webhooks/v1/registration/validationEvents');
    expect(server.requests[0]?.method).toBe('POST');
    expect(server.requests[0]?.headers['content-type']).toBeUndefined();
  });

  it('reads the test event delivery status with its attempts', async () => {
    const { client, server } = await setup([
      {
        status: 200,
        body: {
          CorrelationId: 'c-1',
          PartnerId: 'p-1',
          Status: 'completed',
          CallbackUrl: 'https://sync.example.com/webhooks/partner-center',
          Results: [
            { ResponseCode: 'OK', ResponseMessage: '', SystemError: '', DateTimeUtc: '2024-01-01T00:00:00Z' },
            { responseCode: 500, responseMessage: 'boom', systemError: null, dateTimeUtc: '2024-01-01T00:01:00Z' },
          ],
        },
      },
    ]);
    const status = await client.getTestEventStatus('c-1');
    expect(status).toMatchObject({ correlationId: 'c-1', partnerId: 'p-1', status: 'completed', callbackUrl: 'https://sync.example.com/webhooks/partner-center' });
    expect(status.results).toEqual([
      { responseCode: 'OK', responseMessage: '', systemError: '', dateTimeUtc: '2024-01-01T00:00:00Z' },
      { responseCode: '500', responseMessage: 'boom', systemError: undefined, dateTimeUtc: '2024-01-01T00:01:00Z' },
    ]);
    expect(server.requests[0]?.url).toBe('/webhooks/v1/registration/validationEvents/c-1');
  });

  it('fails with the service message when the test event is throttled past the cap', async () => {
    const { client } = await setup([{ status: 429, headers: { 'retry-after': '3600' }, body: { error: { code: 'tooManyRequests', message: '2 per minute' } } }]);
    await expect(client.sendTestEvent()).rejects.toMatchObject({ status: 429, code: 'tooManyRequests', retryAfterMs: 3_600_000 });
  });
});
