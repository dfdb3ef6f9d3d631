import type { CrmRecordRef } from '../../crm/connector.ts';
import type { AuditEntry, HeldConflict } from '../../store/types.ts';
import type { MergeResult } from '../merge/index.ts';
import { canonicalEquals } from '../mapping/canonical.ts';
import { fieldAudit, type AuditStamp } from './audit-entries.ts';

type Conflict = MergeResult['conflicts'][number];

/** Held conflicts that start now, or whose values changed since they were held: audited (and shown) once. */
export function newHolds(result: MergeResult, heldBefore: readonly HeldConflict[]): Conflict[] {
  return result.conflicts.filter(
    (c) => c.resolution === 'held' && !heldBefore.some((h) => h.field === c.key && canonicalEquals(h.pc ?? null, c.pc) && canonicalEquals(h.crm ?? null, c.crm)),
  );
}

/** One row per conflict the merge decided, and per hold that starts now. */
export function conflictAudit(input: { stamp: AuditStamp; referralId: string; ref: CrmRecordRef; result: MergeResult; newHolds: readonly Conflict[] }): AuditEntry[] {
  return input.result.conflicts
    .filter((c) => c.resolution !== 'held' || input.newHolds.includes(c))
    .map((c) =>
      fieldAudit(input.stamp, {
        referralId: input.referralId,
        ref: input.ref,
        direction: c.resolution === 'pc' ? 'to-crm' : c.resolution === 'crm' ? 'to-pc' : 'none',
        field: c.key,
        oldValue: c.resolution === 'crm' ? c.pc : c.crm,
        newValue: c.resolution === 'crm' ? c.crm : c.pc,
        outcome: c.resolution === 'held' ? 'held' : 'conflict',
        message:
          c.resolution === 'held'
            ? `both sides changed: Partner Center ${JSON.stringify(c.pc)}, CRM ${JSON.stringify(c.crm)} (was ${JSON.stringify(c.base)}); held until resolved (cosell conflicts resolve)`
            : `both sides changed (base ${JSON.stringify(c.base)}, Partner Center ${JSON.stringify(c.pc)}, CRM ${JSON.stringify(c.crm)}); policy ${c.policy}`,
      }),
    );
}
