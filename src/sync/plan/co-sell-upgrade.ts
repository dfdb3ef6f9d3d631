import type { FieldChange } from '../../partner-center/json-patch.ts';
import { isTerminal, type Referral } from '../../partner-center/model.ts';
import type { AuditEntry } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import { WELL_KNOWN } from '../connection.ts';
import { solutionProblem, withSolutions } from '../referral-body.ts';
import { recordAudit } from './audit-entries.ts';
import { assistanceRequested } from './create-plans.ts';
import type { PairSnapshot } from './pair-snapshot.ts';

/*
 * A private or partner-led deal (Independent) the partner made from the CRM, whose seller later asks for Microsoft's
 * help: the referral becomes co-sell the way a new co-sell deal is made ("Create a referral", a shared referral) —
 * type Shared, visible to Microsoft sellers, the deal's Microsoft solutions in `details.requirements.solutions` — and
 * then Microsoft's connected referral joins its engagement (pair-sync, after the PATCH). Partner Center refuses co-sell
 * without a solution ("Solution ID is required"), so without one the help request waits and the record says why.
 * Going back (co-sell to private) stays refused: see visibility.ts.
 */

/** The deal asks for Microsoft's help but its referral is not co-sell yet. */
export function wantsCoSellUpgrade(referral: Referral, crm: CanonicalRecord): boolean {
  return referral.type !== 'Shared' && referral.direction === 'Outgoing' && !isTerminal(referral) && assistanceRequested(crm);
}

export type CoSellUpgrade =
  | { kind: 'send'; changes: FieldChange[]; audit: AuditEntry }
  /** The help request cannot go yet: `key` is held back with this reason. */
  | { kind: 'wait'; key: string; reason: string };

export function planCoSellUpgrade(s: PairSnapshot, crm: CanonicalRecord): CoSellUpgrade | null {
  const solutionIds = s.dealSolutions;
  if (solutionIds === undefined || !wantsCoSellUpgrade(s.referral, crm)) return null;
  const problem = solutionProblem(solutionIds);
  if (problem) return { kind: 'wait', key: WELL_KNOWN.assistance, reason: `not sent to Partner Center: ${problem.field}: ${problem.reason}` };
  const ids = solutionIds ?? [];
  const { details } = withSolutions((s.referral.details ?? {}) as Record<string, unknown>, ids);
  return {
    kind: 'send',
    changes: [
      { path: ['type'], value: 'Shared' },
      { path: ['consent', 'consentToShareReferralWithMicrosoftSellers'], value: true },
      { path: ['details', 'requirements'], value: details.requirements ?? {} },
    ],
    audit: recordAudit(s.stamp, { referralId: s.referralId, ref: s.record.ref, direction: 'to-pc', outcome: 'written', message: `upgraded to co-sell: shared with Microsoft with solution ${ids.join(', ')}` }),
  };
}
