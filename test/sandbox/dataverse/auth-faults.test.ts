import { DynamicsWebApi } from 'dynamics-web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_CLIENT_ID, SANDBOX_USERS } from '../../../src/sandbox/dataverse/index.ts';
import { expectFailure, startHarness, type SandboxHarness } from './helpers.ts';

describe('authentication', () => {
  let h: SandboxHarness;
  beforeAll(async () => {
    h = await startHarness({ strictTokens: true });
  });
  afterAll(async () => h.close());

  it('answers a request without a bearer token with 401, the error body and a WWW-Authenticate challenge', async () => {
    const anonymous = new DynamicsWebApi({ serverUrl: h.sandbox.url, propagateErrors: true });
    const failure = await expectFailure(anonymous.retrieveMultiple({ collection: 'accounts' }));
    expect(failure.status).toBe(401);
    expect(failure.message).toContain('Bearer token is missing');
    expect(failure.headers['www-authenticate']).toContain('Bearer authorization_uri=');
    expect(failure.headers['odata-version']).toBe('4.0');
  });

  it('with strictTokens accepts only tokens from the client-credentials endpoint', async () => {
    const rejected = await expectFailure(h.api.retrieveMultiple({ collection: 'accounts' }));
    expect(rejected.status).toBe(401);
    const response = await fetch(`${h.sandbox.url}/contoso.onmicrosoft.com/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: SANDBOX_CLIENT_ID, client_secret: 'secret', scope: `${h.sandbox.url}/.default`, grant_type: 'client_credentials' }),
    });
    const token = (await response.json()) as { token_type: string; expires_in: number; access_token: string };
    expect(token.token_type).toBe('Bearer');
    expect(token.expires_in).toBeGreaterThan(3000);
    const client = h.client({ onTokenRefresh: async () => ({ accessToken: token.access_token }) });
    const whoAmI = await client.callFunction<{ UserId: string }>('WhoAmI');
    expect(whoAmI.UserId).toBe(SANDBOX_USERS.application.id);
  });
});

describe('service protection faults and request counts', () => {
  let h: SandboxHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());
  beforeEach(async () => {
    await h.control('DELETE', '/_sandbox/faults');
    await h.control('DELETE', '/_sandbox/requests');
  });

  it('injects a 429 with Retry-After and the documented service-protection error, surfaced in the client error', async () => {
    const configured = await h.control('POST', '/_sandbox/faults', { throttleRate: 1, retryAfterSeconds: 7, count: 1, routes: ['/api/data/v9.2/opportunities'] });
    expect(configured.status).toBe(200);
    const failure = await expectFailure(h.api.retrieveMultiple({ collection: 'opportunities' }));
    expect(failure.status).toBe(429);
    expect(failure.headers['retry-after']).toBe('7');
    expect(failure.code).toBe('0x80072322');
    expect(failure.message).toBe('Number of requests exceeded the limit of 6000 over time window of 300 seconds.');
    // count: 1 — the next call goes through.
    const ok = await h.api.retrieveMultiple({ collection: 'opportunities' });
    expect(ok.value).toEqual([]);
  });

  it('injects 5xx errors in the Dataverse error shape, only on the routes asked for', async () => {
    await h.control('POST', '/_sandbox/faults', { errorStatus: 503, routes: ['/api/data/v9.2/accounts'] });
    const failure = await expectFailure(h.api.retrieveMultiple({ collection: 'accounts' }));
    expect(failure.status).toBe(503);
    expect(failure.code).toBe('0x80040216');
    expect((await h.api.retrieveMultiple({ collection: 'contacts' })).value).toEqual([]);
  });

  it('counts requests per endpoint, including rejected ones', async () => {
    await h.api.create({ collection: 'accounts', data: { name: 'Counted' } });
    await h.api.retrieveMultiple({ collection: 'accounts' });
    await expectFailure(h.api.retrieve({ collection: 'accounts', key: '00000000-0000-0000-0000-000000000009' }));
    const counts = await h.control<{ total: number; routes: Record<string, number> }>('GET', '/_sandbox/requests');
    expect(counts.body.total).toBe(3);
    expect(counts.body.routes).toEqual({ 'POST /api/data/v9.2/accounts': 1, 'GET /api/data/v9.2/accounts': 1, 'GET /api/data/v9.2/accounts(*': 1 });
  });
});
