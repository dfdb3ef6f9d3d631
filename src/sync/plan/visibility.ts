import type { AuditEntry } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import { WELL_KNOWN } from '../connection.ts';
import type { MergeResult } from '../merge/index.ts';
import { fieldAudit } from './audit-entries.ts';
import type { PairSnapshot } from './pair-snapshot.ts';

export const VISIBILITY_KEPT =
  'Referral visibility: the deal is shared with Microsoft sellers and Partner Center does not allow making it private again; the CRM shows it as visible';

/**
 * Visibility to Microsoft sellers cannot be revoked ("Co-sell connector for Dynamics 365 CRM overview", Referral
 * Visibility: it cannot be reverted once visible; Partner Center refuses the PATCH). So a merge that would send
 * "not visible" for a referral Partner Center shows as visible — a seller's downgrade, or a co-sell deal whose
 * visibility column was never ticked because asking for Microsoft's help made it visible — sends nothing for the field:
 * Partner Center's value goes back to the CRM instead, with an Audit line saying why.
 */
export function keepVisibility(s: PairSnapshot, result: MergeResult, pc: CanonicalRecord): { result: MergeResult; refused: AuditEntry[] } {
  const key = WELL_KNOWN.visibility;
  if (pc[key] !== true || !(key in result.toPc) || result.toPc[key] === true) return { result, refused: [] };
  const toPc = { ...result.toPc };
  const requested = toPc[key];
  delete toPc[key];
  const refused = fieldAudit(s.stamp, { referralId: s.referralId, ref: s.record.ref, direction: 'to-pc', field: key, oldValue: true, newValue: requested, outcome: 'skipped', message: VISIBILITY_KEPT });
  return { result: { ...result, toPc, toCrm: { ...result.toCrm, [key]: true }, nextBase: { ...result.nextBase, [key]: true } }, refused: [refused] };
}
