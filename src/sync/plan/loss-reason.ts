import type { FieldChange } from '../../partner-center/json-patch.ts';
import { pathOf } from './hold-backs.ts';
import type { PairSnapshot } from './pair-snapshot.ts';

/*
 * Why a deal was lost travels with the close, both ways (the mapping file's `lossReason`). Partner Center: a referral
 * closes as `Closed/Lost` with its reason in `statusReason` ("Update a referral"); a closed referral is read-only, so
 * the reason must go in the same PATCH. Dynamics: the reason is the lost status reason that LoseOpportunity takes as
 * `Status` (4 Canceled, 5 Out-Sold, or an org's own); Salesforce has no standard loss-reason field, so it is the custom
 * field `cosell setup salesforce` creates. A declined or expired referral is lost in the CRM but carries no loss
 * reason: only Closed/Lost does (declining stays Closed/Declined, see co-sell-decision.ts).
 */

/** The close-as-lost PATCH with the CRM's loss reason added, unless something already sets `statusReason`. */
export function withLossReasonToPc(s: Pick<PairSnapshot, 'mapping' | 'record'>, changes: FieldChange[]): FieldChange[] {
  const conversion = s.mapping.lossReason;
  if (!conversion) return changes;
  const closesLost = changes.some((c) => pathOf(c.path) === 'substatus' && c.value === 'Lost');
  if (!closesLost || changes.some((c) => pathOf(c.path) === 'statusReason')) return changes;
  const reason = conversion.toPc(s.record.values[conversion.column]);
  return reason === undefined ? changes : [...changes, { path: ['statusReason'], value: reason }];
}

/** The CRM columns of a close as lost with Partner Center's reason added (only when the referral is Closed/Lost). */
export function withLossReasonToCrm(s: Pick<PairSnapshot, 'mapping' | 'referral'>, changes: Record<string, unknown>): Record<string, unknown> {
  const conversion = s.mapping.lossReason;
  if (!conversion || changes['@state'] !== 'lost' || s.referral.status !== 'Closed' || s.referral.substatus !== 'Lost') return changes;
  const value = conversion.toCrm(s.referral.statusReason);
  return value === undefined ? changes : { ...changes, [conversion.column]: value };
}
