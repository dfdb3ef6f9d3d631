import { randomBytes } from 'node:crypto';
import { DataverseError, ErrorCode } from '../errors.ts';

/** Entra ID client-credential tokens live about an hour ("Use OAuth authentication with Microsoft Dataverse"). */
export const TOKEN_LIFETIME_SECONDS = 3599;

/**
 * Whom a token speaks for, as Entra ID's claims say it: an app registration on its own (client credentials: `appid`,
 * no user) or a user signed in through an app (delegated: the user's `oid`).
 */
export type TokenIdentity = { kind: 'application'; clientId: string } | { kind: 'delegated'; objectId: string; clientId: string };

export type TokenLookup = { status: 'valid'; identity: TokenIdentity } | { status: 'expired' } | { status: 'unknown' };

/** Tokens issued by the sandbox token endpoint, with whom each speaks for. */
export class TokenRegistry {
  private readonly issued = new Map<string, { expiresAt: number; identity: TokenIdentity }>();

  issue(identity: TokenIdentity, now = Date.now()): { accessToken: string; expiresIn: number } {
    const accessToken = `sandbox.dataverse.${randomBytes(24).toString('base64url')}`;
    this.issued.set(accessToken, { expiresAt: now + TOKEN_LIFETIME_SECONDS * 1000, identity });
    return { accessToken, expiresIn: TOKEN_LIFETIME_SECONDS };
  }

  lookup(token: string, now = Date.now()): TokenLookup {
    const entry = this.issued.get(token);
    if (!entry) return { status: 'unknown' };
    return entry.expiresAt > now ? { status: 'valid', identity: entry.identity } : { status: 'expired' };
  }
}

/**
 * The real service answers a missing or bad token with 401 and a `WWW-Authenticate` challenge naming the authority
 * and resource, which MSAL-based clients use to discover the tenant.
 */
export function unauthorized(message: string, resource: string): DataverseError {
  return new DataverseError(401, ErrorCode.BadAuthTicket, message, {
    'WWW-Authenticate': `Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, resource_id=${resource}/`,
  });
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = typeof header === 'string' ? /^\s*Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}
