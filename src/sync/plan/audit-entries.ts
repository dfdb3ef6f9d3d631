import type { CrmRecordRef } from '../../crm/connector.ts';
import type { AuditEntry } from '../../store/types.ts';
import type { CanonicalValue } from '../../canonical-value.ts';

/** What every audit row of one run carries: the connection it ran for and why it ran (the job's cause). */
export interface AuditStamp {
  connection: string;
  cause: string;
}

/** An audit row about a record as a whole (created, linked, failed). */
export function recordAudit(
  stamp: AuditStamp,
  entry: { referralId: string | null; ref: CrmRecordRef; direction?: AuditEntry['direction']; outcome: AuditEntry['outcome']; message: string },
): AuditEntry {
  return {
    connection: stamp.connection,
    referralId: entry.referralId,
    crmEntity: entry.ref.entity,
    crmId: entry.ref.id,
    direction: entry.direction ?? 'none',
    field: null,
    oldValue: undefined,
    newValue: undefined,
    cause: stamp.cause,
    outcome: entry.outcome,
    message: entry.message,
  };
}

export interface FieldAuditInput {
  referralId: string;
  ref: CrmRecordRef;
  direction: AuditEntry['direction'];
  field: string;
  oldValue: CanonicalValue | undefined;
  newValue: CanonicalValue | undefined;
  outcome: AuditEntry['outcome'];
  message: string | null;
}

/** An audit row about one field of a pair. */
export function fieldAudit(stamp: AuditStamp, entry: FieldAuditInput): AuditEntry {
  return {
    connection: stamp.connection,
    referralId: entry.referralId,
    crmEntity: entry.ref.entity,
    crmId: entry.ref.id,
    direction: entry.direction,
    field: entry.field,
    oldValue: entry.oldValue,
    newValue: entry.newValue,
    cause: stamp.cause,
    outcome: entry.outcome,
    message: entry.message,
  };
}
