import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { outboundDispatcher } from './outbound.ts';
import { credentialFailure } from './redact.ts';

export interface TokenProvider {
  getToken(): Promise<string>;
  /** Forget a cached token the API has just rejected (401) so the next `getToken` fetches a fresh one. */
  invalidate?(): void;
}

export interface AccessToken {
  token: string;
  expiresOnMs: number;
}

export interface TokenCacheOptions {
  /** Refresh this long before expiry so a token never expires mid-request. Default 5 minutes. */
  refreshSkewMs?: number;
  now?: () => number;
}

/** Raised when a token cannot be obtained. Its message names the endpoint and the server's error, never a secret. */
export class TokenAcquisitionError extends Error {
  override readonly name = 'TokenAcquisitionError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

const DEFAULT_REFRESH_SKEW_MS = 5 * 60_000;
/** Used when a token response states no lifetime: short, so a wrong guess costs one extra fetch, not failed calls. */
const FALLBACK_LIFETIME_MS = 5 * 60_000;

/** Sandbox and tests: any fixed, non-empty token. */
export class StaticTokenProvider implements TokenProvider {
  constructor(private readonly token: string) {
    if (token.trim() === '') throw new TypeError('StaticTokenProvider needs a non-empty token');
  }

  getToken(): Promise<string> {
    return Promise.resolve(this.token);
  }
}

/**
 * Caches one token until shortly before it expires and shares a single in-flight fetch among concurrent callers, so
 * a burst of API calls costs one token request. A failed fetch is not cached: the next call tries again.
 */
export class CachingTokenProvider implements TokenProvider {
  private cached: { token: string; refreshAtMs: number } | undefined;
  private inFlight: Promise<string> | undefined;
  private readonly refreshSkewMs: number;
  private readonly now: () => number;

  constructor(
    private readonly fetchToken: () => Promise<AccessToken>,
    options: TokenCacheOptions = {},
  ) {
    this.refreshSkewMs = options.refreshSkewMs ?? DEFAULT_REFRESH_SKEW_MS;
    this.now = options.now ?? Date.now;
  }

  getToken(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAtMs) return Promise.resolve(this.cached.token);
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async refresh(): Promise<string> {
    const fetchedAt = this.now();
    const { token, expiresOnMs } = await this.fetchToken();
    if (token === '') throw new TokenAcquisitionError('the token endpoint returned an empty access token');
    // A token that lives shorter than the skew would otherwise be refetched on every call: refresh at half-life then.
    const lifetime = Math.max(0, expiresOnMs - fetchedAt);
    this.cached = { token, refreshAtMs: expiresOnMs - Math.min(this.refreshSkewMs, lifetime / 2) };
    return token;
  }
}

export interface ClientCredentialsTokenOptions extends TokenCacheOptions {
  /** OAuth 2.0 token endpoint, e.g. the sandbox's `http://127.0.0.1:4101/oauth2/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** v2 endpoints: `https://api.partner.microsoft.com/.default`. */
  scope?: string;
  /** v1 endpoints (the Referrals docs' token request uses `resource=https://api.partner.microsoft.com`). */
  resource?: string;
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().nullish(),
  // Entra v1 returns these as strings ("3600"), v2 as numbers.
  expires_in: z.coerce.number().positive().nullish(),
  expires_on: z.coerce.number().positive().nullish(),
});

/**
 * A plain OAuth 2.0 client-credentials grant against any token endpoint: the sandbox's `/oauth2/token`, or an
 * identity provider that MSAL does not cover. For Microsoft Entra prefer the MSAL-based providers.
 */
export class ClientCredentialsTokenProvider extends CachingTokenProvider {
  constructor(options: ClientCredentialsTokenOptions) {
    const now = options.now ?? Date.now;
    super(() => fetchClientCredentialsToken(options, now), options);
  }
}

async function fetchClientCredentialsToken(options: ClientCredentialsTokenOptions, now: () => number): Promise<AccessToken> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: options.clientId,
    client_secret: options.clientSecret,
  });
  if (options.scope) form.set('scope', options.scope);
  if (options.resource) form.set('resource', options.resource);

  const endpoint = describeEndpoint(options.tokenUrl);
  const what = `token request to ${endpoint}`;
  const secrets = [options.clientSecret];
  let status: number;
  let text: string;
  try {
    const response = await request(options.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      dispatcher: options.dispatcher ?? outboundDispatcher(),
    });
    status = response.statusCode;
    text = await response.body.text();
  } catch (error) {
    throw new TokenAcquisitionError(credentialFailure({ what, secrets, cause: error }).message);
  }

  const json = safeJson(text);
  if (status < 200 || status >= 300) {
    const failure = credentialFailure({ what, secrets, status, body: text });
    throw new TokenAcquisitionError(failure.message, status, failure.code);
  }
  const parsed = tokenResponseSchema.safeParse(json);
  if (!parsed.success) {
    throw new TokenAcquisitionError(`token response from ${endpoint} has no usable access_token`, status);
  }
  const { access_token: token, expires_in: expiresIn, expires_on: expiresOn } = parsed.data;
  const expiresOnMs = expiresOn != null ? expiresOn * 1000 : now() + (expiresIn != null ? expiresIn * 1000 : FALLBACK_LIFETIME_MS);
  return { token, expiresOnMs };
}

/** Origin and path only: a token URL could carry credentials in its query string. */
export function describeEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid token URL)';
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
