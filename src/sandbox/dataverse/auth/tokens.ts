import { randomBytes } from 'node:crypto';
import { DataverseError, ErrorCode } from '../errors.ts';

/** Entra ID client-credential tokens live about an hour ("Use OAuth authentication with Microsoft Dataverse"). */
export const TOKEN_LIFETIME_SECONDS = 3599;

/** Tokens issued by the sandbox token endpoint; consulted only with `strictTokens`. */
export class TokenRegistry {
  private readonly issued = new Map<string, number>();

  issue(now = Date.now()): { accessToken: string; expiresIn: number } {
    const accessToken = `sandbox.dataverse.${randomBytes(24).toString('base64url')}`;
    this.issued.set(accessToken, now + TOKEN_LIFETIME_SECONDS * 1000);
    return { accessToken, expiresIn: TOKEN_LIFETIME_SECONDS };
  }

  isValid(token: string, now = Date.now()): boolean {
    const expiresAt = this.issued.get(token);
    return expiresAt !== undefined && expiresAt > now;
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
