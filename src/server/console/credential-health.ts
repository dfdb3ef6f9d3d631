import type { CredentialRecord } from '../../store/types.ts';
import { explainCredentialProblem } from '../../http/entra-errors.ts';

/*
 * Partner Center's refresh token as the console and the alerts see it. Entra expires a refresh token left unused for
 * 90 days ("Refresh tokens in the Microsoft identity platform", Microsoft Learn: "inactive for 90 days"); the service
 * exchanges it at least hourly while it runs, so the risk is a service stopped for weeks, or exchanges that keep failing.
 */

export const REFRESH_TOKEN_INACTIVITY_DAYS = 90;
const DAY_MS = 86_400_000;

export interface CredentialHealth {
  /** When the refresh token was last exchanged successfully (null: never, by this store). */
  lastUsedAt: string | null;
  /** When Entra last handed a new one that was kept (null: none kept, e.g. no encryption key). */
  rotatedAt: string | null;
  /** lastUsedAt + 90 days: when Entra would refuse it for inactivity. */
  expiresAt: string | null;
  daysLeft: number | null;
  /** Fewer than the configured number of days left. */
  expiringSoon: boolean;
  /** The last refusal, with what to do (never a secret). */
  problem: string | null;
  problemAt: string | null;
}

/**
 * `apiFailure` is the last failed Partner Center call: its 401 with code 900421 (a token without the MFA claim) comes
 * from the API, not from the token exchange, and is the same operator problem.
 */
export function credentialHealth(record: CredentialRecord | undefined, warningDays: number, apiFailure?: string | null, now = Date.now()): CredentialHealth {
  const apiProblem = apiFailure ? explainCredentialProblem(apiFailure)?.advice : undefined;
  const lastUsed = record?.lastUsedAt ? Date.parse(record.lastUsedAt) : undefined;
  const expires = lastUsed === undefined ? undefined : lastUsed + REFRESH_TOKEN_INACTIVITY_DAYS * DAY_MS;
  const daysLeft = expires === undefined ? null : Math.max(0, Math.floor((expires - now) / DAY_MS));
  return {
    lastUsedAt: record?.lastUsedAt ?? null,
    rotatedAt: record?.rotatedAt ?? null,
    expiresAt: expires === undefined ? null : new Date(expires).toISOString(),
    daysLeft,
    expiringSoon: daysLeft !== null && daysLeft < warningDays,
    problem: record?.lastError ?? apiProblem ?? null,
    problemAt: record?.lastErrorAt ?? null,
  };
}

/**
 * The alert for a credential that needs an operator, else undefined. `key` deduplicates: a problem is announced once
 * until it changes, a near expiry once per expiry date (which moves only when the token is used, ending the warning).
 */
export function credentialAlert(health: CredentialHealth): { key: string; line: string } | undefined {
  if (health.problem) return { key: `problem:${health.problem}`, line: `Partner Center sign-in refused: ${health.problem}` };
  if (health.expiringSoon) {
    return {
      key: `expiry:${health.expiresAt ?? ''}`,
      line: `Partner Center's refresh token expires by inactivity on ${health.expiresAt ?? '?'} (${health.daysLeft ?? 0} days left): keep the service running so it uses the token, or run \`cosell init\` again to store a new one`,
    };
  }
  return undefined;
}
