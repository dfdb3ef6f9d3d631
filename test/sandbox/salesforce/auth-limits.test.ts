import jsforce from 'jsforce';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_USERS } from '../../../src/sandbox/salesforce/index.ts';
import { API_VERSION, expectJsforceError, opportunity, startHarness, type SalesforceHarness } from './helpers.ts';

function jwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' }): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode(header)}.${encode(claims)}.${Buffer.from('not-a-real-signature').toString('base64url')}`;
}

const validClaims = (): Record<string, unknown> => ({
  iss: '3MVG9-consumer-key',
  sub: SANDBOX_USERS.integration.username,
  aud: 'https://login.salesforce.com',
  exp: Math.floor(Date.now() / 1000) + 180,
});

describe('OAuth 2.0 token endpoint', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('issues a client-credentials token over plain HTTP with the documented response fields', async () => {
    const response = await fetch(`${h.sandbox.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'id', client_secret: 'secret' }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'id', 'instance_url', 'issued_at', 'scope', 'signature', 'token_type']);
    expect(body.token_type).toBe('Bearer');
    expect(body.instance_url).toBe(h.sandbox.url);
    expect(body.id).toBe(`${h.sandbox.url}/id/${h.sandbox.organizationId}/${SANDBOX_USERS.integration.id}`);
    expect(body.access_token).toMatch(/^00D[A-Za-z0-9]{12}!/);
    expect(Number(body.issued_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('rejects client credentials without a secret and unknown grant types with OAuth errors', async () => {
    const post = async (form: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> => {
      const response = await fetch(`${h.sandbox.url}/services/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    };
    expect(await post({ grant_type: 'client_credentials', client_id: 'id' })).toEqual({ status: 400, body: { error: 'invalid_client', error_description: 'invalid client credentials' } });
    expect((await post({ grant_type: 'authorization_code', code: 'x' })).body.error).toBe('unsupported_grant_type');
  });

  it('authorizes jsforce with client_credentials and the token works for API calls as the integration user', async () => {
    const conn = new jsforce.Connection({ oauth2: { loginUrl: h.sandbox.url, clientId: 'cosell', clientSecret: 'secret' }, version: API_VERSION });
    const userInfo = await conn.authorize({ grant_type: 'client_credentials' });
    expect(userInfo).toMatchObject({ id: SANDBOX_USERS.integration.id, organizationId: h.sandbox.organizationId });
    expect(conn.instanceUrl).toBe(h.sandbox.url);
    const created = await conn.sobject('Opportunity').create(opportunity());
    const record = await conn.sobject('Opportunity').retrieve(created.id ?? '');
    expect(record.LastModifiedById).toBe(SANDBOX_USERS.integration.id);
    const identity = await conn.identity();
    expect(identity.username).toBe(SANDBOX_USERS.integration.username);
  });

  it('accepts a well-formed JWT bearer assertion (structure, not signature) over HTTP and through jsforce', async () => {
    const response = await fetch(`${h.sandbox.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt({ ...validClaims(), sub: SANDBOX_USERS.seller.username }) }),
    });
    const body = (await response.json()) as Record<string, string>;
    expect(response.status).toBe(200);
    expect(body.id?.endsWith(`/${SANDBOX_USERS.seller.id}`)).toBe(true);

    const conn = new jsforce.Connection({ loginUrl: h.sandbox.url, version: API_VERSION });
    const userInfo = await conn.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt(validClaims()) });
    expect(userInfo.id).toBe(SANDBOX_USERS.integration.id);
    const result = await conn.query('SELECT Id FROM Organization');
    expect(result.records[0]?.Id).toBe(h.sandbox.organizationId);
  });

  it('rejects malformed or expired JWT assertions with invalid_grant', async () => {
    const conn = new jsforce.Connection({ loginUrl: h.sandbox.url, version: API_VERSION });
    const grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
    const garbage = await expectJsforceError(conn.authorize({ grant_type: grant, assertion: 'not.a-jwt' }));
    expect(garbage.name).toBe('invalid_grant');
    const expired = await expectJsforceError(conn.authorize({ grant_type: grant, assertion: jwt({ ...validClaims(), exp: Math.floor(Date.now() / 1000) - 3600 }) }));
    expect(expired.name).toBe('invalid_grant');
    expect(expired.message).toContain('expired');
    const unsigned = await expectJsforceError(conn.authorize({ grant_type: grant, assertion: jwt(validClaims(), { alg: 'none' }) }));
    expect(unsigned.message).toContain('RS256');
  });

  it('logs jsforce in with the OAuth username-password flow', async () => {
    const conn = new jsforce.Connection({ oauth2: { loginUrl: h.sandbox.url, clientId: 'cosell', clientSecret: 'secret' }, version: API_VERSION });
    const userInfo = await conn.login(SANDBOX_USERS.seller.username, 'any-password');
    expect(userInfo.id).toBe(SANDBOX_USERS.seller.id);
  });
});

describe('sessions, limits and faults', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness({ dailyApiLimit: 15_000 });
  });
  afterAll(async () => h.close());
  beforeEach(async () => {
    await h.control('DELETE', '/_sandbox/faults');
    await h.control('DELETE', '/_sandbox/requests');
  });

  it('answers an unknown token with 401 INVALID_SESSION_ID, which jsforce surfaces as that error code', async () => {
    const conn = h.connection({ accessToken: '00Dxx0000000001!made-up' });
    const error = await expectJsforceError(conn.query('SELECT Id FROM Opportunity'));
    expect(error.errorCode).toBe('INVALID_SESSION_ID');
    expect(error.message).toBe('Session expired or invalid');
    const raw = await h.http('GET', `/services/data/v${API_VERSION}/sobjects`, undefined, { authorization: 'Bearer nope' });
    expect(raw.status).toBe(401);
    expect(raw.body).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    expect((await h.http('GET', `/services/data/v${API_VERSION}/sobjects`, undefined, { authorization: '' })).status).toBe(401);
  });

  it('expires every session on demand, so clients have to re-authenticate', async () => {
    const token = await h.control<{ access_token: string }>('POST', '/_sandbox/tokens', { user: 'seller' });
    const conn = h.connection({ accessToken: token.body.access_token });
    expect((await conn.query('SELECT Id FROM User')).totalSize).toBe(2);
    const revoked = await h.control<{ revoked: number }>('DELETE', '/_sandbox/tokens?user=seller');
    expect(revoked.body.revoked).toBe(1);
    expect((await expectJsforceError(conn.query('SELECT Id FROM User'))).errorCode).toBe('INVALID_SESSION_ID');
    // The integration user's sessions were left alone.
    expect((await h.conn.query('SELECT Id FROM User')).totalSize).toBe(2);
  });

  it('reports the daily allocation in Sforce-Limit-Info on every API response, and jsforce reads it', async () => {
    await h.control('POST', '/_sandbox/limits', { used: 100 });
    const conn = h.connection({ accessToken: (await h.control<{ access_token: string }>('POST', '/_sandbox/tokens', {})).body.access_token });
    await conn.query('SELECT Id FROM Opportunity');
    expect(conn.limitInfo.apiUsage).toEqual({ used: 101, limit: 15_000 });
    const missing = await h.http('GET', `/services/data/v${API_VERSION}/sobjects/Opportunity/006000000000000AAA`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('sforce-limit-info')).toBe('api-usage=102/15000');
  });

  it('refuses calls with 403 REQUEST_LIMIT_EXCEEDED once the allocation is spent', async () => {
    await h.control('POST', '/_sandbox/limits', { used: 15_000 });
    const error = await expectJsforceError(h.conn.query('SELECT Id FROM Opportunity'));
    expect(error.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(error.message).toBe('TotalRequests Limit exceeded.');
    await h.control('POST', '/_sandbox/limits', { used: 0 });
    expect((await h.conn.query('SELECT Id FROM Opportunity')).done).toBe(true);
  });

  it('injects REQUEST_LIMIT_EXCEEDED through the shared fault plugin on the routes asked for, and counts requests', async () => {
    await h.control('POST', '/_sandbox/faults', { errorStatus: 403, count: 1, routes: ['/services/data/v62.0/query'] });
    const error = await expectJsforceError(h.conn.query('SELECT Id FROM Opportunity'));
    expect(error.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect((await h.conn.query('SELECT Id FROM Opportunity')).done).toBe(true);
    await h.conn.sobject('Opportunity').describe();
    const counts = await h.control<{ total: number; routes: Record<string, number> }>('GET', '/_sandbox/requests');
    expect(counts.body.routes).toEqual({ 'GET /services/data/:version/query': 2, 'GET /services/data/:version/sobjects/:sobject/describe': 1 });
  });

  it('serves older versions up to the pinned one and answers newer or malformed versions with 404 NOT_FOUND', async () => {
    expect((await h.http('GET', '/services/data/v58.0/sobjects/Account/describe')).status).toBe(200);
    const newer = await h.http('GET', '/services/data/v99.0/sobjects');
    expect(newer.status).toBe(404);
    expect(newer.body).toEqual([{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    const versions = await h.control<Array<{ version: string }>>('GET', '/services/data');
    expect(versions.body.at(-1)?.version).toBe('62.0');
  });
});
