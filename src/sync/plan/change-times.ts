import type { CrmRecord } from '../../crm/connector.ts';
import type { NotifiedChangesReader } from '../../crm/notifications.ts';
import type { EntityMapping } from '../entity-mapping.ts';

/**
 * Whether the record's own time is too coarse to date its change: Dataverse's modifiedon has whole seconds, and a
 * record we wrote last is dated by our write.
 */
export function needsArrivalTime(record: CrmRecord): boolean {
  const modified = Date.parse(record.modifiedAt);
  return !(Number.isNaN(modified) || modified % 1000 !== 0 || record.modifiedByUs);
}

/**
 * When the CRM record changed, as precisely as can be told. Dataverse's modifiedon has whole seconds: an edit at
 * 12:00:00.150 reads 12:00:00, older than a Partner Center edit at 12:00:00.100 that it followed. The edit happened
 * within that second and no later than its notification arrived (`latestReceivedAt`, the newest notification for the
 * record), so the arrival (capped to that second) is the better estimate. Not when our own write was the last change
 * (its echo would date a seller's earlier edit). A tie that remains goes to Partner Center, as the merge documents.
 */
export function crmChangedAt(record: CrmRecord, latestReceivedAt: string | undefined): string {
  if (!needsArrivalTime(record)) return record.modifiedAt;
  const modified = Date.parse(record.modifiedAt);
  const received = latestReceivedAt !== undefined ? Date.parse(latestReceivedAt) : Number.NaN;
  if (Number.isNaN(received) || received < modified) return record.modifiedAt;
  return new Date(Math.min(received, modified + 999)).toISOString();
}

/** A CRM notification as received: when it arrived and its exact body. */
export interface CrmNotification {
  receivedAt: string;
  payload: string;
}

/**
 * Per canonical field, when the CRM changed it since the pair's last commit, from the notifications received for the
 * record, newest first, as the vendor's `changes` reads them (Dataverse: the columns of each Create / Update's Target
 * and its operation time; Salesforce CDC: the event's changedFields and commitTimestamp): a record's modifiedon moves with every field, so an older edit of one field must not borrow
 * a newer edit of another's time.
 * Fields no notification names keep the record's time (no entry).
 */
export function crmFieldChangedAt(input: {
  since: string;
  mapping: EntityMapping;
  notifications: readonly CrmNotification[];
  changes: NotifiedChangesReader;
}): Record<string, string> {
  const since = Date.parse(input.since);
  const columnTimes = new Map<string, string>();
  for (const event of input.notifications) {
    if (!(Date.parse(event.receivedAt) > since)) continue;
    const changed = input.changes(event.payload);
    if (!changed) continue;
    // Newest first: the first event naming a column dates its latest change.
    for (const column of changed.columns) if (!columnTimes.has(column)) columnTimes.set(column, changed.at ?? event.receivedAt);
  }
  const out: Record<string, string> = {};
  if (columnTimes.size === 0) return out;
  for (const { key } of input.mapping.fields) {
    let columns: string[];
    try {
      columns = Object.keys(input.mapping.canonicalToCrm({ [key]: null })).map((c) => c.toLowerCase());
    } catch {
      continue; // a transform that cannot map an empty value: the field keeps the record's time
    }
    const times = columns.map((c) => columnTimes.get(c)).filter((t): t is string => t !== undefined);
    const latest = times.sort().at(-1);
    if (latest !== undefined) out[key] = latest;
  }
  return out;
}
