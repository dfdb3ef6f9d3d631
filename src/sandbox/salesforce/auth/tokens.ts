import { randomBytes } from 'node:crypto';
import { SANDBOX_ORGANIZATION, type SandboxUser } from './users.ts';

interface Session {
  user: SandboxUser;
  issuedAt: number;
  lastUsedAt: number;
}

/** Salesforce's default session timeout; sessions expire after this long without use, not after a fixed lifetime. */
export const DEFAULT_SESSION_TIMEOUT_MS = 2 * 60 * 60 * 1000;

/**
 * Access tokens the sandbox issued. Only these are accepted: a client holding a stale or made-up token must see
 * INVALID_SESSION_ID exactly as it would in a real org, because re-authentication is a code path worth testing.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly timeoutMs: number = DEFAULT_SESSION_TIMEOUT_MS) {}

  /** Tokens look like real ones (`<org id>!<opaque>`), which some clients log-redact by that shape. */
  issue(user: SandboxUser): { accessToken: string; issuedAt: number } {
    const accessToken = `${SANDBOX_ORGANIZATION.id.slice(0, 15)}!${randomBytes(48).toString('base64url')}`;
    const now = Date.now();
    this.sessions.set(accessToken, { user, issuedAt: now, lastUsedAt: now });
    return { accessToken, issuedAt: now };
  }

  /** The user behind a token, touching the session; undefined for unknown, revoked or idle-expired tokens. */
  resolve(accessToken: string): SandboxUser | undefined {
    const session = this.sessions.get(accessToken);
    if (!session) return undefined;
    const now = Date.now();
    if (now - session.lastUsedAt > this.timeoutMs) {
      this.sessions.delete(accessToken);
      return undefined;
    }
    session.lastUsedAt = now;
    return session.user;
  }

  revoke(accessToken: string): boolean {
    return this.sessions.delete(accessToken);
  }

  /** Ends every session, or every session of one user (an admin's "expire sessions"), so clients must re-authenticate. */
  revokeAll(userId?: string): number {
    let count = 0;
    for (const [token, session] of this.sessions) {
      if (userId !== undefined && session.user.id !== userId) continue;
      this.sessions.delete(token);
      count += 1;
    }
    return count;
  }
}

/** `Authorization: Bearer <token>` for REST; the CometD client (faye, via jsforce) sends `OAuth <token>`. */
export function tokenFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
