import { afterEach, describe, expect, it } from 'vitest';
import { msalNetworkModule } from '../../../src/http/msal-network.ts';
import { configureOutbound, DEFAULT_HTTP_TIMEOUTS } from '../../../src/http/outbound.ts';
import { startScriptedServer, type ScriptedServer } from '../partner-center/scripted-server.ts';

/** MSAL's HTTP client of ours: what MSAL sends reaches the server as is, and MSAL gets status, headers and parsed JSON. */
describe('msalNetworkModule', () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => {
    configureOutbound({ timeouts: DEFAULT_HTTP_TIMEOUTS });
    await server?.close();
    server = undefined;
  });

  it('posts the form MSAL built and hands back the parsed token response', async () => {
    server = await startScriptedServer([{ status: 200, body: { access_token: 'at', expires_in: 3600 }, headers: { 'x-ms-request-id': 'r1' } }]);
    const response = await msalNetworkModule.sendPostRequestAsync<{ access_token: string }>(`${server.url}/tenant/oauth2/v2.0/token`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=c',
    });
    expect(response.status).toBe(200);
    expect(response.body.access_token).toBe('at');
    expect(response.headers['x-ms-request-id']).toBe('r1');
    expect(server.requests[0]?.body).toBe('grant_type=client_credentials&client_id=c');
    expect(server.requests[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('hands an error status to MSAL with its body, and an empty body as an empty object', async () => {
    server = await startScriptedServer([{ status: 400, body: { error: 'invalid_client' } }, { status: 204 }]);
    const rejected = await msalNetworkModule.sendGetRequestAsync<{ error: string }>(`${server.url}/x`);
    expect(rejected.status).toBe(400);
    expect(rejected.body.error).toBe('invalid_client');
    const empty = await msalNetworkModule.sendGetRequestAsync<object>(`${server.url}/x`);
    expect(empty.body).toEqual({});
  });

  it('names the host and the phase when the token endpoint does not answer', async () => {
    configureOutbound({ timeouts: { headersMs: 200 } });
    server = await startScriptedServer([{ status: 200, body: {}, delayMs: 5_000 }]);
    await expect(msalNetworkModule.sendPostRequestAsync(`${server.url}/tenant/oauth2/v2.0/token`, { body: 'a=b' })).rejects.toThrow(
      `entra 127.0.0.1:${server.port}: no response headers within 0.2 s`,
    );
  }, 30_000);
});
