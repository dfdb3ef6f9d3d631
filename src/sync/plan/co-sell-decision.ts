import type { FieldChange } from '../../partner-center/json-patch.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { AuditEntry } from '../../store/types.ts';
import { recordAudit } from './audit-entries.ts';
import type { PairSnapshot } from './pair-snapshot.ts';

/*
 * The seller's answer in the CRM to an incoming co-sell referral. Partner Center ("Manage co-sell opportunities"): an
 * unaccepted incoming referral can only be accepted or declined, and declining needs a reason. So while one waits, a
 * decision is the only thing sent — Accept as Active/Accepted, Decline as Closed/Declined with `statusReason`, never
 * Lost. The seller's other edits wait (hold-backs.ts) and go in the acceptance's PATCH; a declined referral is closed
 * and takes none.
 */

/** An incoming referral nobody has answered yet. */
export function awaitsAnswer(referral: Referral): boolean {
  return referral.direction === 'Incoming' && referral.status === 'New';
}

export const DECLINE_REASON_MISSING = 'Decline Reason: choose why the co-sell referral is declined; Partner Center requires a reason to decline';

/** What to send for the seller's decision: the patch and its audit row, a row saying what is missing, or null. */
export function decisionToSend(s: Pick<PairSnapshot, 'decision' | 'referral' | 'referralId' | 'record' | 'stamp'>): { changes: FieldChange[]; audit: AuditEntry } | { problem: AuditEntry } | null {
  const { decision } = s;
  if (!decision || !awaitsAnswer(s.referral)) return null;
  const row = (outcome: AuditEntry['outcome'], message: string) =>
    recordAudit(s.stamp, { referralId: s.referralId, ref: s.record.ref, direction: 'to-pc', outcome, message });
  if (decision.verdict === 'accept') {
    return { changes: [{ path: ['status'], value: 'Active' }, { path: ['substatus'], value: 'Accepted' }], audit: row('written', 'co-sell referral accepted in the CRM') };
  }
  const reason = decision.reason?.trim();
  if (!reason) return { problem: row('skipped', DECLINE_REASON_MISSING) };
  return {
    changes: [
      { path: ['status'], value: 'Closed' },
      { path: ['substatus'], value: 'Declined' },
      { path: ['statusReason'], value: reason },
    ],
    audit: row('written', `co-sell referral declined in the CRM: ${reason}`),
  };
}
