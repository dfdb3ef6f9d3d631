import { createSign } from 'node:crypto';
import { request } from 'undici';
import { z } from 'zod';
import { outboundDispatcher, outboundTimeouts } from '../../http/outbound.ts';
import { credentialFailure } from '../../http/redact.ts';
import { describeTimeout, phaseLimit, timeoutPhaseOf } from '../../http/timeout-phase.ts';
import { CrmApiError } from '../connector.ts';
import { toId18 } from './ids.ts';

/*
 * Server-to-server OAuth (Salesforce Help "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration" and
 * "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration"): client credentials (runs as the app's Run-As
 * integration user) and the JWT bearer flow. Neither issues a refresh token, so "refreshing" means running the grant
 * again — which is what the connection's refreshFn does on a 401 (jsforce's default refresh needs a refresh token,
 * https://github.com/jsforce/jsforce/issues/1780).
 *
 * The token request is a plain undici request rather than jsforce's OAuth2 class: its errors carry no HTTP status, and whether a
 * failure is worth retrying (endpoint down) or not (wrong secret) depends on exactly that.
 */

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/**
 * Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration": the assertion must be short-lived
 * (about 3 minutes at most, UNCONFIRMED); 2 minutes stays inside it.
 */
const JWT_LIFETIME_SECONDS = 120;

export interface SalesforceGrant {
  accessToken: string;
  instanceUrl: string;
  /** From the identity URL in the token response (`…/id/<org>/<user>`): who our writes are made by. */
  userId: string | undefined;
  organizationId: string | undefined;
}

export interface SalesforceAuthenticator {
  grant(): Promise<SalesforceGrant>;
}

export type GrantCallRecorder = (call: { method: 'POST'; route: string; status: number | 'network-error'; durationMs: number }) => void;

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  instance_url: z.string().min(1),
  id: z.string().optional(),
  token_type: z.string().optional(),
});

/** `https://host/id/00D…/005…` → the org and user ids it names. */
export function parseIdentityUrl(identityUrl: string | undefined): { organizationId?: string; userId?: string } {
  const match = identityUrl ? /\/id\/([A-Za-z0-9]{15,18})\/([A-Za-z0-9]{15,18})\/?$/.exec(identityUrl) : null;
  if (!match) return {};
  const organizationId = toId18(match[1] ?? '');
  const userId = toId18(match[2] ?? '');
  return { ...(organizationId ? { organizationId } : {}), ...(userId ? { userId } : {}) };
}

interface TokenEndpointOptions {
  /** Base URL of the token endpoint (My Domain, login.salesforce.com, or the sandbox). */
  loginUrl: string;
  timeoutMs: number;
  onCall?: GrantCallRecorder | undefined;
}

/** `secrets`: every credential the form carries (client secret, signed assertion, private key), masked in any error. */
async function requestToken(options: TokenEndpointOptions, form: Record<string, string>, secrets: readonly string[]): Promise<SalesforceGrant> {
  const url = new URL('/services/oauth2/token', options.loginUrl).toString();
  const what = `Salesforce token request to ${url}`;
  const started = performance.now();
  let status: number;
  let text: string;
  try {
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(options.timeoutMs),
      dispatcher: outboundDispatcher(),
    });
    status = response.statusCode;
    text = await response.body.text();
  } catch (error) {
    options.onCall?.({ method: 'POST', route: 'oauth2/token', status: 'network-error', durationMs: performance.now() - started });
    const phase = timeoutPhaseOf(error);
    const cause = phase ? new Error(describeTimeout('salesforce', url, phase, phaseLimit(phase, outboundTimeouts()))) : error;
    throw new CrmApiError(credentialFailure({ what, secrets, cause }).message, undefined, phase ? 'timeout' : 'network', true);
  }
  options.onCall?.({ method: 'POST', route: 'oauth2/token', status, durationMs: performance.now() - started });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status < 200 || status >= 300) {
    // The endpoint's answer may echo what it was sent: only the status, the OAuth code and a masked description stay.
    const failure = credentialFailure({ what, secrets, status, body: text });
    // invalid_client / invalid_grant are configuration problems; only a failing endpoint is worth retrying.
    const retryable = status >= 500 || status === 429;
    throw new CrmApiError(failure.message, status, failure.code, retryable);
  }
  const parsed = tokenResponseSchema.safeParse(body);
  if (!parsed.success) throw new CrmApiError('Salesforce token response has no access_token / instance_url', status, 'invalidResponse', true);
  const identity = parseIdentityUrl(parsed.data.id);
  return { accessToken: parsed.data.access_token, instanceUrl: parsed.data.instance_url.replace(/\/+$/, ''), userId: identity.userId, organizationId: identity.organizationId };
}

export class ClientCredentialsAuthenticator implements SalesforceAuthenticator {
  constructor(
    private readonly options: TokenEndpointOptions & { clientId: string; clientSecret: string },
  ) {}

  grant(): Promise<SalesforceGrant> {
    return requestToken(
      this.options,
      { grant_type: 'client_credentials', client_id: this.options.clientId, client_secret: this.options.clientSecret },
      [this.options.clientSecret],
    );
  }
}

export class JwtBearerAuthenticator implements SalesforceAuthenticator {
  constructor(
    private readonly options: TokenEndpointOptions & { clientId: string; username: string; privateKeyPem: string; audience?: string },
  ) {}

  grant(): Promise<SalesforceGrant> {
    const assertion = signJwtAssertion({
      issuer: this.options.clientId,
      subject: this.options.username,
      audience: this.options.audience ?? new URL(this.options.loginUrl).origin,
      privateKeyPem: this.options.privateKeyPem,
    });
    return requestToken(this.options, { grant_type: JWT_BEARER_GRANT, assertion }, [assertion, this.options.privateKeyPem]);
  }
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/**
 * An RS256 JWT bearer assertion (Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration": iss =
 * consumer key, sub = username, aud = login URL, short exp).
 */
export function signJwtAssertion(input: { issuer: string; subject: string; audience: string; privateKeyPem: string; now?: number }): string {
  const issuedAt = Math.floor((input.now ?? Date.now()) / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({ iss: input.issuer, sub: input.subject, aud: input.audience, exp: issuedAt + JWT_LIFETIME_SECONDS }));
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${claims}`);
  let signature: string;
  try {
    signature = signer.sign(input.privateKeyPem, 'base64url');
  } catch (error) {
    // Never echo the key material; the reason (wrong format, passphrase) is enough to fix the config.
    throw new CrmApiError(`the JWT private key cannot sign: ${error instanceof Error ? error.message : String(error)}`, undefined, 'invalidPrivateKey', false);
  }
  return `${header}.${claims}.${signature}`;
}
