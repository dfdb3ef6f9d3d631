import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EntraClientCredentialsProvider,
  EntraRefreshTokenProvider,
  REFERRALS_API_SCOPE,
  WEBHOOKS_API_SCOPE,
} from '../../../src/http/entra-tokens.ts';
import {
  CachingTokenProvider,
  ClientCredentialsTokenProvider,
  StaticTokenProvider,
  TokenAcquisitionError,
  type AccessToken,
} from '../../../src/http/tokens.ts';
import { fakeEntraDiscovery } from '../../support/fake-entra.ts';
import { startScriptedServer, type ScriptedReply, type ScriptedServer } from '../partner-center/scripted-server.ts';

const MINUTE = 60_000;

/** A clock the test moves by hand, and a fetcher that counts calls and resolves when told to. */
function fakeSource(lifetimeMs = 60 * MINUTE) {
  let now = 1_000_000;
  let fetches = 0;
  const pending: Array<() => void> = [];
  const fetchToken = () =>
    new Promise<AccessToken>((resolve) => {
      fetches++;
      const token = `token-${fetches}`;
      pending.push(() => resolve({ token, expiresOnMs: now + lifetimeMs }));
    });
  return {
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    fetchToken,
    fetches: () => fetches,
    resolveAll: () => pending.splice(0).forEach((resolve) => resolve()),
  };
}

describe('CachingTokenProvider', () => {
  it('shares one fetch among concurrent callers', async () => {
    const source = fakeSource();
    const provider = new CachingTokenProvider(source.fetchToken, { now: source.clock });
    const calls = Array.from({ length: 10 }, () => provider.getToken());
    source.resolveAll();
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['token-1']));
    expect(source.fetches()).toBe(1);
  });

  it('serves from cache until the skew before expiry, then refreshes', async () => {
    const source = fakeSource(60 * MINUTE);
    const provider = new CachingTokenProvider(source.fetchToken, { now: source.clock, refreshSkewMs: 5 * MINUTE });
    const first = provider.getToken();
    source.resolveAll();
    expect(await first).toBe('token-1');

    source.advance(54 * MINUTE);
    expect(await provider.getToken()).toBe('token-1');
    expect(source.fetches()).toBe(1);

    source.advance(1 * MINUTE + 1);
    const refreshed = provider.getToken();
    source.resolveAll();
    expect(await refreshed).toBe('token-2');
    expect(source.fetches()).toBe(2);
  });

  it('refreshes a token shorter-lived than the skew at half-life instead of on every call', async () => {
    const source = fakeSource(2 * MINUTE);
    const provider = new CachingTokenProvider(source.fetchToken, { now: source.clock, refreshSkewMs: 5 * MINUTE });
    const first = provider.getToken();
    source.resolveAll();
    await first;
    source.advance(MINUTE - 1);
    expect(await provider.getToken()).toBe('token-1');
    source.advance(2);
    const second = provider.getToken();
    source.resolveAll();
    expect(await second).toBe('token-2');
  });

  it('does not cache failures, and invalidate forces a new token', async () => {
    let attempt = 0;
    const provider = new CachingTokenProvider(async () => {
      attempt++;
      if (attempt === 1) throw new TokenAcquisitionError('down');
      return { token: `t${attempt}`, expiresOnMs: Date.now() + 60 * MINUTE };
    });
    await expect(provider.getToken()).rejects.toThrow('down');
    expect(await provider.getToken()).toBe('t2');
    expect(await provider.getToken()).toBe('t2');
    provider.invalidate();
    expect(await provider.getToken()).toBe('t3');
  });
});

describe('StaticTokenProvider', () => {
  it('returns its token and refuses an empty one', async () => {
    expect(await new StaticTokenProvider('sandbox-token').getToken()).toBe('sandbox-token');
    expect(() => new StaticTokenProvider(' ')).toThrow(/non-empty/);
  });
});

describe('ClientCredentialsTokenProvider', () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function provider(script: ScriptedReply[], extra: { resource?: string; scope?: string } = {}) {
    server = await startScriptedServer(script);
    return new ClientCredentialsTokenProvider({
      tokenUrl: `${server.url}/oauth2/token?tenant=x`,
      clientId: 'client-1',
      clientSecret: 'super-secret-value',
      ...extra,
    });
  }

  it('posts a client-credentials form and caches the token (expires_in as a string, as Entra v1 sends it)', async () => {
    const tokens = await provider([{ status: 200, body: { token_type: 'Bearer', expires_in: '3600', access_token: 'sandbox-at' } }], {
      resource: 'https://api.partner.microsoft.com',
    });
    const results = await Promise.all([tokens.getToken(), tokens.getToken(), tokens.getToken()]);
    expect(results).toEqual(['sandbox-at', 'sandbox-at', 'sandbox-at']);
    expect(await tokens.getToken()).toBe('sandbox-at');
    expect(server?.requests).toHaveLength(1);
    const form = new URLSearchParams(server?.requests[0]?.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'client-1',
      client_secret: 'super-secret-value',
      resource: 'https://api.partner.microsoft.com',
    });
    expect(server?.requests[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('reports a rejection with the OAuth error but never the secret or the query string', async () => {
    const tokens = await provider([
      { status: 401, body: { error: 'invalid_client', error_description: 'bad secret super-secret-value for client-1' } },
    ]);
    const error = await tokens.getToken().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenAcquisitionError);
    const message = (error as TokenAcquisitionError).message;
    expect(message).toContain('invalid_client');
    expect(message).toContain('(401)');
    expect(message).not.toContain('super-secret-value');
    expect(message).not.toContain('tenant=x');
    expect((error as TokenAcquisitionError).code).toBe('invalid_client');
  });

  it('rejects a response without an access token', async () => {
    const tokens = await provider([{ status: 200, body: { token_type: 'Bearer' } }]);
    await expect(tokens.getToken()).rejects.toThrow(/no usable access_token/);
  });
});

/**
 * MSAL refuses non-https authorities, so a local plain-http server cannot play Entra. Instead MSAL's documented
 * `networkClient` hook is replaced: the real MSAL flow runs (discovery, token request, response validation), only the
 * bytes on the wire are scripted.
 */
function fakeEntra(tokenReply: (body: URLSearchParams) => { status: number; body: Record<string, unknown> }) {
  const host = 'https://login.test.example';
  const tokenRequests: URLSearchParams[] = [];
  const networkClient: INetworkModule = {
    sendGetRequestAsync: (url) => fakeEntraDiscovery(url, host),
    async sendPostRequestAsync<T>(_url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
      const form = new URLSearchParams(options?.body ?? '');
      tokenRequests.push(form);
      // Let concurrent callers pile up while the "request" is in flight.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const reply = tokenReply(form);
      return { status: reply.status, headers: {}, body: reply.body as T };
    },
  };
  return { host, networkClient, tokenRequests };
}

/** The Referrals provider of one app and user, against a fake Entra. */
const refreshTokenOptions = (entra: ReturnType<typeof fakeEntra>) => ({
  tenantId: 'partner-tenant',
  clientId: 'app-id',
  clientSecret: 'app-secret-xyz',
  refreshToken: 'stored-refresh-token',
  scope: REFERRALS_API_SCOPE,
  authorityHost: entra.host,
  networkClient: entra.networkClient,
});
const refreshTokenProvider = (entra: ReturnType<typeof fakeEntra>) => new EntraRefreshTokenProvider(refreshTokenOptions(entra));

describe('Entra providers (MSAL)', () => {
  it('exchanges the stored refresh token once for concurrent callers, and again after invalidation', async () => {
    let issued = 0;
    const entra = fakeEntra(() => ({
      status: 200,
      body: { token_type: 'Bearer', access_token: `delegated-${++issued}`, expires_in: 3600, ext_expires_in: 3600, refresh_token: 'rotated' },
    }));
    const provider = refreshTokenProvider(entra);
    const tokens = await Promise.all(Array.from({ length: 5 }, () => provider.getToken()));
    expect(new Set(tokens)).toEqual(new Set(['delegated-1']));
    expect(entra.tokenRequests).toHaveLength(1);
    const form = entra.tokenRequests[0];
    expect(form?.get('grant_type')).toBe('refresh_token');
    expect(form?.get('refresh_token')).toBe('stored-refresh-token');
    expect(form?.get('scope')?.split(' ')).toContain(REFERRALS_API_SCOPE);

    provider.invalidate();
    expect(await provider.getToken()).toBe('delegated-2');
    expect(entra.tokenRequests).toHaveLength(2);
  });

  it('gets app-only tokens for the Webhooks API audience', async () => {
    const entra = fakeEntra(() => ({
      status: 200,
      body: { token_type: 'Bearer', access_token: 'app-only', expires_in: 3600, ext_expires_in: 3600 },
    }));
    const provider = new EntraClientCredentialsProvider({
      tenantId: 'partner-tenant',
      clientId: 'app-id',
      clientSecret: 'app-secret-xyz',
      scope: WEBHOOKS_API_SCOPE,
      authorityHost: entra.host,
      networkClient: entra.networkClient,
    });
    expect(await Promise.all([provider.getToken(), provider.getToken()])).toEqual(['app-only', 'app-only']);
    expect(entra.tokenRequests).toHaveLength(1);
    expect(entra.tokenRequests[0]?.get('grant_type')).toBe('client_credentials');
    expect(entra.tokenRequests[0]?.get('scope')).toBe(WEBHOOKS_API_SCOPE);
  });

  it('wraps Entra errors without leaking the client secret or the refresh token', async () => {
    const entra = fakeEntra(() => ({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description: 'AADSTS70000: refresh token stored-refresh-token expired (client secret app-secret-xyz)',
        error_codes: [70000],
      },
    }));
    const provider = refreshTokenProvider(entra);
    const error = await provider.getToken().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenAcquisitionError);
    const message = (error as Error).message;
    expect(message).toContain('invalid_grant');
    expect(message).not.toContain('app-secret-xyz');
    expect(message).not.toContain('stored-refresh-token');
  });

  it('reports refusals of the credential to the vault, not an endpoint that is down', async () => {
    const refused: string[] = [];
    const vault = { load: async () => undefined, exchanged: async () => undefined, discard: async () => undefined, refused: async (message: string) => void refused.push(message) };
    let reply = { status: 503, body: {} as Record<string, unknown> };
    const entra = fakeEntra(() => reply);
    const provider = new EntraRefreshTokenProvider({ ...refreshTokenOptions(entra), vault });
    await expect(provider.getToken()).rejects.toThrow(TokenAcquisitionError);
    expect(refused).toEqual([]);
    reply = { status: 400, body: { error: 'interaction_required', error_description: 'AADSTS50076: you must use multi-factor authentication' } };
    await expect(provider.getToken()).rejects.toThrow(TokenAcquisitionError);
    expect(refused).toEqual([expect.stringContaining('AADSTS50076')]);
  });

  it('says what to do about a refusal no retry cures (AADSTS700082: unused for 90 days)', async () => {
    const entra = fakeEntra(() => ({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'AADSTS700082: The refresh token has expired due to inactivity.', error_codes: [700082] },
    }));
    const provider = refreshTokenProvider(entra);
    const message = ((await provider.getToken().catch((caught: unknown) => caught)) as Error).message;
    expect(message).toMatch(/AADSTS700082.*90 days without use.*run `cosell init` again/);
    expect(message).not.toContain('stored-refresh-token');
  });
});
