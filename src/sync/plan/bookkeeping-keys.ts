import type { CanonicalValue } from '../../canonical-value.ts';
import { CONTACTS_DIGEST_BASE, CONTACTS_READ_AT_BASE } from './deal-contacts.ts';
import { TEAM_DIGEST_BASE, TEAM_READ_AT_BASE } from './deal-team.ts';
import { CRM_MATCHES_BASE } from './crm-mirror.ts';

/**
 * Base keys that record how the last sync went (digests, read times, whether the stored values mirror the record)
 * rather than a value both sides agreed on: an operator looking at a pair's agreed values has no use for them.
 */
const BOOKKEEPING_KEYS: ReadonlySet<string> = new Set([CRM_MATCHES_BASE, CONTACTS_DIGEST_BASE, CONTACTS_READ_AT_BASE, TEAM_DIGEST_BASE, TEAM_READ_AT_BASE]);

/** The base as both sides agreed on it, without the sync's bookkeeping. */
export function agreedValues(base: Readonly<Record<string, CanonicalValue>>): Record<string, CanonicalValue> {
  return Object.fromEntries(Object.entries(base).filter(([key]) => !BOOKKEEPING_KEYS.has(key)));
}
