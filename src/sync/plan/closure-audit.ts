import { isTerminal } from '../../partner-center/model.ts';
import type { AuditEntry } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import { recordAudit } from './audit-entries.ts';
import { pathOf } from './hold-backs.ts';
import type { PairSnapshot } from './pair-snapshot.ts';

/**
 * The Audit line of a referral Partner Center closed (Won, Lost, Declined, Expired), with its reason, when the closure
 * reaches the CRM. The mapped status is lossy on purpose (a CRM has fewer closed states: Declined and Expired are both
 * "lost" in Dynamics), so the field's own row would show the CRM's group; this line says what Partner Center holds.
 */
export function closureAudit(s: PairSnapshot, toCrm: CanonicalRecord): AuditEntry[] {
  const { referral } = s;
  if (!isTerminal(referral)) return [];
  const closes = Object.keys(toCrm).some((key) =>
    s.mapping.canonicalToReferralChanges({ [key]: toCrm[key] ?? null }, referral).some((c) => pathOf(c.path) === 'status'),
  );
  if (!closes) return [];
  const reason = typeof referral.statusReason === 'string' && referral.statusReason.trim() !== '' ? `: ${referral.statusReason.trim()}` : '';
  const message = `referral ${String(referral.status)}/${String(referral.substatus)} in Partner Center${reason}`;
  return [recordAudit(s.stamp, { referralId: s.referralId, ref: s.record.ref, direction: 'to-crm', outcome: 'written', message })];
}
