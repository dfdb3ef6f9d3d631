import type { CanonicalRecord } from '../../canonical-value.ts';
import { isTerminal } from '../../partner-center/model.ts';
import { awaitsAnswer } from './co-sell-decision.ts';
import { pathOf } from './hold-backs.ts';
import type { PairSnapshot } from './pair-snapshot.ts';

/*
 * Issue 11. Some CRM values follow from the record's state, not from the seller (the connector lists their columns in
 * `stateDefaultColumns`): Salesforce's sales stage is unread while the opportunity sits in the on-hold stage, and
 * leaving on-hold lands on the configured active stage, which reads as its own percentage (10 %). Taken at face value,
 * a referral Microsoft shared at Qualified (20 %) and then accepted — by the seller leaving on-hold, or in Partner
 * Center — would go back to Accepted. So at an acceptance, whichever side made it, those fields are Partner Center's:
 * the merge sees the CRM agree (no seller's edit to send) and the value is written to the CRM with the acceptance, so
 * the record moves to the stage matching the referral's sales stage. Outside an acceptance the list means nothing: a
 * seller who later moves back to the active stage does choose 10 %. Dynamics keeps its sales stage through on-hold
 * (a real column, read all along) and lists nothing, so nothing changes there.
 */

/** The status the CRM record's values say, as Partner Center's (`Active`, `New`, …), if the mapping gives one. */
function crmStatus(s: Pick<PairSnapshot, 'mapping'>, crm: CanonicalRecord): unknown {
  return s.mapping.canonicalToReferralChanges(crm).find((change) => pathOf(change.path) === 'status')?.value;
}

/** Whether this sync is the referral's acceptance: the seller's (in the CRM) or Partner Center's, not yet both. */
function accepting(s: Pick<PairSnapshot, 'mapping' | 'referral' | 'record' | 'decision'>, crm: CanonicalRecord): boolean {
  const { referral } = s;
  if (referral.direction !== 'Incoming' || isTerminal(referral)) return false;
  if (awaitsAnswer(referral)) return s.decision?.verdict === 'accept' || crmStatus(s, crm) === 'Active';
  return referral.status === 'Active' && (s.record.onHold === true || crmStatus(s, crm) === 'New');
}

/**
 * The fields to take from Partner Center because of an acceptance (key → Partner Center's value), empty when this is
 * no acceptance or the record lists no state-default column. The caller makes the CRM side agree before the merge and
 * writes these values to the CRM with the merge's.
 */
export function acceptanceDefaults(s: Pick<PairSnapshot, 'mapping' | 'referral' | 'record' | 'decision'>, pc: CanonicalRecord, crm: CanonicalRecord): CanonicalRecord {
  const columns = new Set(s.record.stateDefaultColumns ?? []);
  if (columns.size === 0 || !accepting(s, crm)) return {};
  const out: CanonicalRecord = {};
  for (const field of s.mapping.fields) {
    const value = pc[field.key];
    if (field.direction === 'to-pc' || value === undefined) continue;
    if (Object.keys(s.mapping.canonicalToCrm({ [field.key]: value })).some((column) => columns.has(column))) out[field.key] = value;
  }
  return out;
}
