import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PartnerCenterError } from './errors.ts';

export const TOKEN_LIFETIME_SECONDS = 3600;

/** Tokens the sandbox token endpoint handed out; consulted only in strict mode. */
export class TokenRegistry {
  private readonly accessTokens = new Map<string, number>();

  issue(now = Date.now()): { accessToken: string; refreshToken: string; expiresAt: number } {
    const accessToken = `sandbox.${randomBytes(24).toString('base64url')}`;
    const expiresAt = now + TOKEN_LIFETIME_SECONDS * 1000;
    this.accessTokens.set(accessToken, expiresAt);
    return { accessToken, refreshToken: `sandbox-refresh.${randomBytes(24).toString('base64url')}`, expiresAt };
  }

  isValid(token: string, now = Date.now()): boolean {
    const expiresAt = this.accessTokens.get(token);
    return expiresAt !== undefined && expiresAt > now;
  }
}

function unauthenticated(message: string): PartnerCenterError {
  return new PartnerCenterError(401, 'unauthenticated', message, undefined, undefined, { 'www-authenticate': 'Bearer' });
}

/** The route-level hook guarding every partner-facing API route. */
export function bearerAuthentication(options: { strict: boolean; tokens: TokenRegistry }) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^\s*Bearer\s+(\S.*?)\s*$/i.exec(header) : null;
    const token = match?.[1];
    if (!token) throw unauthenticated('Authentication failed: the request has no bearer token (Authorization: Bearer <token>).');
    if (options.strict && !options.tokens.isValid(token)) {
      throw unauthenticated('Authentication failed: the bearer token is invalid or expired.');
    }
  };
}
