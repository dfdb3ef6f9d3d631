/**
 * The key of a pair's job, shared by every store driver: one key per pair is what coalesces a burst of events for one
 * record into one sync, and (in PostgreSQL, as graphile-worker's queue name) what keeps one pair from running twice at
 * once across instances.
 */
export function jobKeyForReferral(connection: string, referralId: string): string {
  return `${connection}:ref:${referralId}`;
}

/** A CRM record with no referral yet; once linked, its work is filed under the referral's key instead. */
export function jobKeyForCrm(connection: string, entity: string, id: string): string {
  return `${connection}:crm:${entity}:${id}`;
}
