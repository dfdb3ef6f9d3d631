import { afterEach, describe, expect, it } from 'vitest';
import { PartnerCenterApiError } from '../../../src/partner-center/api-error.ts';
import type { HttpCallRecord } from '../../../src/http/call-record.ts';
import { backoffDelay, parseRetryAfter } from '../../../src/http/retry.ts';
import { ApiHttpClient, templateRoute, type ApiHttpClientOptions } from '../../../src/partner-center/http.ts';
import { StaticTokenProvider, type TokenProvider } from '../../../src/http/tokens.ts';
import { UUID_PATTERN, closedPort, startScriptedServer, type ScriptedReply, type ScriptedServer } from './scripted-server.ts';

const TOKEN = 'secret-bearer-token-0123456789';
const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20 };

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(script: ScriptedReply[], options: Partial<ApiHttpClientOptions> = {}) {
  server = await startScriptedServer(script);
  const calls: HttpCallRecord[] = [];
  const client = new ApiHttpClient({
    api: 'referrals',
    baseUrl: server.url,
    tokenProvider: new StaticTokenProvider(TOKEN),
    retry: FAST_RETRY,
    onCall: (call) => calls.push(call),
    ...options,
  });
  return { client, calls, server };
}

async function failure(promise: Promise<unknown>): Promise<PartnerCenterApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof PartnerCenterApiError)) throw new Error(`expected PartnerCenterApiError, got ${String(error)}`);
  return error;
}

describe('ApiHttpClient headers', () => {
  it('sends bearer, accept, a UUID client-request-id, and content-type only with a body', async () => {
    const { client, server } = await setup([{ status: 200, body: { ok: true } }]);
    await client.send({ method: 'GET', path: '/v1.0/engagements/referrals' });
    await client.send({ method: 'PATCH', path: '/v1.0/engagements/referrals/1', body: [{ op: 'replace', path: '/name', value: 'n' }] });
    const [get, patch] = server.requests;
    expect(get?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(get?.headers.accept).toBe('application/json');
    expect(get?.headers['client-request-id']).toMatch(UUID_PATTERN);
    expect(get?.headers['content-type']).toBeUndefined();
    expect(patch?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(patch?.body ?? '')).toEqual([{ op: 'replace', path: '/name', value: 'n' }]);
    expect(patch?.headers['client-request-id']).not.toBe(get?.headers['client-request-id']);
  });

  it('keeps the base URL path prefix and returns parsed JSON with the request id', async () => {
    server = await startScriptedServer([{ status: 200, body: { a: 1 }, headers: { 'request-id': 'rid-1' } }]);
    const client = new ApiHttpClient({ api: 'x', baseUrl: `${server.url}/prefix/`, tokenProvider: new StaticTokenProvider(TOKEN) });
    const response = await client.send({ method: 'GET', path: '/things?$top=1' });
    expect(server.requests[0]?.url).toBe('/prefix/things?$top=1');
    expect(response.body).toEqual({ a: 1 });
    expect(response.requestId).toBe('rid-1');
  });

  it('refuses absolute URLs on another origin before sending anything', async () => {
    const { client, server } = await setup([{ status: 200 }]);
    await expect(client.send({ method: 'GET', path: 'http://evil.example/steal' })).rejects.toThrow(/refusing to send/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('ApiHttpClient retries', () => {
  it('waits out Retry-After on 429, then succeeds, reusing the client-request-id', async () => {
    const { client, calls, server } = await setup([
      { status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'throttled', message: 'slow down' } } },
      { status: 200, body: { ok: true } },
    ]);
    const response = await client.send({ method: 'GET', path: '/v1.0/engagements/referrals' });
    expect(response.body).toEqual({ ok: true });
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
    expect(second?.headers['client-request-id']).toBe(first?.headers['client-request-id']);
    expect(calls.map((call) => [call.status, call.attempt])).toEqual([
      [429, 1],
      [200, 2],
    ]);
  });

  it('retries 503 twice with backoff, then succeeds', async () => {
    const { client, calls, server } = await setup([{ status: 503 }, { status: 503 }, { status: 200, body: [] }]);
    await client.send({ method: 'GET', path: '/x' });
    expect(server.requests).toHaveLength(3);
    expect(calls.map((call) => call.status)).toEqual([503, 503, 200]);
  });

  it('gives up after the configured number of retries and reports the attempts', async () => {
    const { client, server } = await setup([{ status: 502, body: { error: { code: 'badGateway', message: 'upstream' } } }], {
      retry: { ...FAST_RETRY, retries: 2 },
    });
    const error = await failure(client.send({ method: 'GET', path: '/x' }));
    expect(server.requests).toHaveLength(3);
    expect(error.attempts).toBe(3);
    expect(error.status).toBe(502);
    expect(error.retryable).toBe(true);
  });

  it('retries a GET after the connection is reset', async () => {
    const { client, calls, server } = await setup(['reset', { status: 200, body: { ok: 1 } }]);
    const response = await client.send({ method: 'GET', path: '/x' });
    expect(response.body).toEqual({ ok: 1 });
    expect(server.requests).toHaveLength(2);
    expect(calls[0]?.status).toBe('network-error');
  });

  it('does not retry a POST after a 500: the service may have created the referral', async () => {
    const { client, server } = await setup([{ status: 500, body: { error: { code: 'generalException', message: 'boom' } } }, { status: 200 }]);
    const error = await failure(client.send({ method: 'POST', path: '/v1.0/engagements/referrals', body: { name: 'n' } }));
    expect(server.requests).toHaveLength(1);
    expect(error.status).toBe(500);
    expect(error.code).toBe('generalException');
    expect(error.outcomeUnknown).toBe(true);
  });

  it('does not retry a POST after a reset or a 503 without Retry-After', async () => {
    const reset = await setup(['reset', { status: 200 }]);
    const resetError = await failure(reset.client.send({ method: 'POST', path: '/r', body: {} }));
    expect(reset.server.requests).toHaveLength(1);
    expect(resetError.code).toBe('networkError');
    expect(resetError.outcomeUnknown).toBe(true);
    await reset.server.close();

    const unavailable = await setup([{ status: 503 }, { status: 200 }]);
    await failure(unavailable.client.send({ method: 'POST', path: '/r', body: {} }));
    expect(unavailable.server.requests).toHaveLength(1);
  });

  it('retries a POST on 429 and on 503 with Retry-After, which mean "not processed"', async () => {
    const { client, server } = await setup([
      { status: 429, headers: { 'retry-after': '0' } },
      { status: 503, headers: { 'retry-after': '0' } },
      { status: 200, body: { id: 'new' } },
    ]);
    const response = await client.send({ method: 'POST', path: '/r', body: {} });
    expect(response.body).toEqual({ id: 'new' });
    expect(server.requests).toHaveLength(3);
  });

  it('retries a POST whose connection was refused, since nothing was sent', async () => {
    const port = await closedPort();
    const calls: HttpCallRecord[] = [];
    const client = new ApiHttpClient({
      api: 'referrals',
      baseUrl: `http://127.0.0.1:${port}`,
      tokenProvider: new StaticTokenProvider(TOKEN),
      retry: { ...FAST_RETRY, retries: 2 },
      onCall: (call) => calls.push(call),
    });
    const error = await failure(client.send({ method: 'POST', path: '/r', body: {} }));
    expect(calls.map((call) => call.status)).toEqual(['network-error', 'network-error', 'network-error']);
    expect(error.code).toBe('connectionRefused');
    expect(error.outcomeUnknown).toBe(false);
    expect(error.status).toBe('network-error');
  });

  it('times out slow attempts: retries a GET, not a POST', async () => {
    const slowThenFast: ScriptedReply[] = [{ status: 200, body: {}, delayMs: 400 }, { status: 200, body: { late: false } }];
    const get = await setup(slowThenFast, { timeoutMs: 100 });
    expect((await get.client.send({ method: 'GET', path: '/x' })).body).toEqual({ late: false });
    expect(get.server.requests).toHaveLength(2);
    await get.server.close();

    const post = await setup(slowThenFast, { timeoutMs: 100 });
    const error = await failure(post.client.send({ method: 'POST', path: '/x', body: {} }));
    expect(error.code).toBe('timeout');
    expect(error.outcomeUnknown).toBe(true);
    expect(post.server.requests).toHaveLength(1);
  });

  it('does not wait out a Retry-After beyond the cap; the caller gets it to schedule', async () => {
    const { client, server } = await setup([{ status: 429, headers: { 'retry-after': '600' } }, { status: 200 }]);
    const error = await failure(client.send({ method: 'GET', path: '/x' }));
    expect(server.requests).toHaveLength(1);
    expect(error.retryAfterMs).toBe(600_000);
    expect(error.retryable).toBe(true);
  });

  it('does not retry 4xx errors such as 400 and 412', async () => {
    const { client, server } = await setup([
      { status: 412, body: { error: { code: 'preconditionFailed', message: 'etag mismatch' } } },
      { status: 200 },
    ]);
    const error = await failure(client.send({ method: 'PATCH', path: '/r/1', body: [] }));
    expect(server.requests).toHaveLength(1);
    expect(error.code).toBe('preconditionFailed');
    expect(error.retryable).toBe(false);
  });

  it('fetches a fresh token once after a 401', async () => {
    let issued = 0;
    let invalidated = 0;
    const tokenProvider: TokenProvider = {
      getToken: () => Promise.resolve(`token-${++issued}`),
      invalidate: () => {
        invalidated++;
      },
    };
    const { client, server } = await setup([{ status: 401 }, { status: 200, body: {} }], { tokenProvider });
    await client.send({ method: 'POST', path: '/r', body: {} });
    expect(invalidated).toBe(1);
    expect(server.requests.map((request) => request.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('stops retrying when the caller aborts', async () => {
    const { client, server } = await setup([{ status: 503, headers: { 'retry-after': '5' } }]);
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(new Error('shutting down')), 100);
    await expect(client.send({ method: 'GET', path: '/x', signal: controller.signal })).rejects.toThrow('shutting down');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(server.requests).toHaveLength(1);
  });
});

describe('PartnerCenterApiError', () => {
  it('reads the documented error body and the request id', async () => {
    const { client } = await setup([
      {
        status: 404,
        headers: { 'request-id': '0f8fad5b-d9cb-469f-a165-70867728950e' },
        body: { error: { code: 'itemNotFound', message: 'Referral not found', target: 'referral', innerError: { code: 'x' } } },
      },
    ]);
    const error = await failure(client.send({ method: 'GET', path: '/v1.0/engagements/referrals/4111fffc-f9ee-4d53-bba6-569135228642' }));
    expect(error.status).toBe(404);
    expect(error.code).toBe('itemNotFound');
    expect(error.apiMessage).toBe('Referral not found');
    expect(error.target).toBe('referral');
    expect(error.innerError).toEqual({ code: 'x' });
    expect(error.requestId).toBe('0f8fad5b-d9cb-469f-a165-70867728950e');
    expect(error.clientRequestId).toMatch(UUID_PATTERN);
    expect(error.route).toBe('/v1.0/engagements/referrals/{id}');
    expect(error.message).toContain('Referral not found');
  });

  it('tolerates other error shapes and plain text', async () => {
    const { client } = await setup([
      { status: 400, body: { Code: 'BadThing', Message: 'flat shape' } },
      { status: 403, rawBody: 'Forbidden by gateway', headers: { 'content-type': 'text/plain' } },
      { status: 400, body: { error: 'invalid_request', error_description: 'oauth style' } },
    ]);
    const flat = await failure(client.send({ method: 'GET', path: '/a' }));
    expect([flat.code, flat.apiMessage]).toEqual(['BadThing', 'flat shape']);
    const text = await failure(client.send({ method: 'GET', path: '/b' }));
    expect([text.code, text.apiMessage]).toEqual(['httpError', 'Forbidden by gateway']);
    const oauth = await failure(client.send({ method: 'GET', path: '/c' }));
    expect([oauth.code, oauth.apiMessage]).toEqual(['invalid_request', 'oauth style']);
  });

  it('caps the API message at 1024 characters', async () => {
    const { client } = await setup([{ status: 400, body: { error: { code: 'invalidRequest', message: 'x'.repeat(5000) } } }]);
    const error = await failure(client.send({ method: 'GET', path: '/a' }));
    expect(error.apiMessage.length).toBeLessThanOrEqual(1025);
  });

  it('never contains the bearer token, even when the service echoes it', async () => {
    const { client } = await setup([
      { status: 401, body: { error: { code: 'unauthenticated', message: `token ${TOKEN} is expired` } } },
      { status: 200, rawBody: `{"broken": "${TOKEN}` },
    ]);
    const rejected = await failure(client.send({ method: 'GET', path: '/a' }));
    const malformed = await failure(client.send({ method: 'GET', path: '/b' }));
    for (const error of [rejected, malformed]) {
      expect(error.message).not.toContain(TOKEN);
      expect(JSON.stringify(error)).not.toContain(TOKEN);
      expect(String(error.stack)).not.toContain(TOKEN);
    }
    expect(rejected.apiMessage).toContain('[redacted]');
  });

  it('reports a malformed 2xx body as invalidJson without retrying', async () => {
    const { client, server } = await setup([{ status: 200, rawBody: '{"value": [' }]);
    const error = await failure(client.send({ method: 'GET', path: '/a' }));
    expect(error.code).toBe('invalidJson');
    expect(error.retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });
});

describe('helpers', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('templates ids out of routes', () => {
    expect(templateRoute('/v1.0/engagements/referrals/4111fffc-f9ee-4d53-bba6-569135228642')).toBe('/v1.0/engagements/referrals/{id}');
    expect(templateRoute('/v1.0/engagements/referrals')).toBe('/v1.0/engagements/referrals');
    expect(templateRoute('/webhooks/v1/registration/validationEvents/12345')).toBe('/webhooks/v1/registration/validationEvents/{id}');
    expect(templateRoute('/things/SOL-34104-EBB')).toBe('/things/{id}');
  });

  it('keeps jittered backoff between half and all of the exponential step, capped', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 1)).toBe(800);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
  });
});
