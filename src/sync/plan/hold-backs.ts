import { canTransition, isTerminal } from '../../partner-center/model.ts';
import type { AuditEntry } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import type { MergeResult } from '../merge/index.ts';
import { fieldAudit } from './audit-entries.ts';
import type { PairSnapshot } from './pair-snapshot.ts';
import { awaitsAnswer } from './co-sell-decision.ts';

/** A field change's path as `a/b`, whichever form (segments, pointer, dotted) the mapping produced. */
export const pathOf = (path: readonly string[] | string): string =>
  (typeof path === 'string' ? path.replace(/^\//, '').replaceAll('.', '/') : path.join('/'));

export const NOT_ACCEPTED_YET =
  'the co-sell referral is not accepted yet and Partner Center takes only an accept or a decline; sent once the seller accepts it';

/**
 * Whether the CRM record changed since the last sync (the seller's edit): a held edit is audited then, not again on
 * every later pass (a Partner Center event, a reconcile) while the same edit keeps waiting.
 */
export function freshCrmEdit(s: Pick<PairSnapshot, 'link' | 'record'>): boolean {
  return s.link === null || s.link.crmVersion !== s.record.version;
}

/** Why nothing at all may be sent to Partner Center this time, or null when the referral can take edits. */
function holdAllReason(s: PairSnapshot, toPc: CanonicalRecord): string | null {
  const { referral, record } = s;
  if (isTerminal(referral)) return 'the referral is closed in Partner Center and cannot be edited';
  if (!awaitsAnswer(referral)) return null;
  // Accepting opens the referral to edits: they go in the acceptance's PATCH. A decline closes it.
  if (s.decision?.verdict === 'accept') return null;
  if (s.decision) return "the seller's co-sell decision goes to Partner Center first; this edit follows once the referral is answered";
  // Microsoft's connector: while an incoming referral waits for the partner's acceptance and its CRM record sits in
  // the on-hold state, the seller's edits wait too; leaving on-hold (which accepts the referral) sends them all.
  if (record.onHold === true) {
    return 'the record is on hold (referral not accepted yet); sent when it leaves the on-hold stage';
  }
  // "Manage co-sell opportunities": an unaccepted incoming referral can only be accepted or declined, so the seller's
  // edits wait for the acceptance; a CRM change that accepts it (status → Active) carries them in the same PATCH.
  return targetStatus(s, toPc) === 'Active' ? null : NOT_ACCEPTED_YET;
}

/**
 * What goes to Partner Center after the hold-backs: a closed referral, an incoming one not accepted yet (on hold, or
 * any edit but an acceptance), and a status change Partner Center's status table would reject. A field held back is audited as skipped and keeps its old base value,
 * so it still differs once it may go.
 */
export function holdBackToPc(input: {
  snapshot: PairSnapshot;
  result: MergeResult;
  pc: CanonicalRecord;
  base: CanonicalRecord | undefined;
  /** Further fields to hold, with why (a help request that cannot make the deal co-sell yet). */
  also?: ReadonlyArray<readonly [string, string]>;
}): { toPc: CanonicalRecord; nextBase: CanonicalRecord; skipped: AuditEntry[] } {
  const { snapshot: s, pc, base } = input;
  const toPc: CanonicalRecord = { ...input.result.toPc };
  const nextBase: CanonicalRecord = { ...input.result.nextBase };
  const skipped: AuditEntry[] = [];
  const freshEdit = freshCrmEdit(s);
  const holdBack = (key: string, reason: string) => {
    if (freshEdit) skipped.push(fieldAudit(s.stamp, { referralId: s.referralId, ref: s.record.ref, direction: 'to-pc', field: key, oldValue: pc[key], newValue: toPc[key], outcome: 'skipped', message: reason }));
    nextBase[key] = base?.[key] ?? pc[key] ?? null;
    delete toPc[key];
  };
  const reason = holdAllReason(s, toPc);
  if (reason !== null) for (const key of Object.keys(toPc)) holdBack(key, reason);
  for (const [key, reason] of statusHolds(s, toPc)) holdBack(key, reason);
  for (const [key, reason] of input.also ?? []) if (key in toPc) holdBack(key, reason);
  return { toPc, nextBase, skipped };
}

/** Partner Center enforces its status table; a change it would reject is held back and audited, not sent. */
function statusHolds(s: PairSnapshot, toPc: CanonicalRecord): Array<[string, string]> {
  const { mapping, referral } = s;
  const target = targetStatus(s, toPc);
  if (typeof target !== 'string' || typeof referral.status !== 'string' || canTransition(referral.status, target)) return [];
  const held: Array<[string, string]> = [];
  for (const key of Object.keys(toPc)) {
    const touchesStatus = mapping
      .canonicalToReferralChanges({ [key]: toPc[key] ?? null }, referral)
      .some((c) => ['status', 'substatus'].includes(pathOf(c.path)));
    if (touchesStatus) held.push([key, `Partner Center does not allow ${referral.status} → ${target}`]);
  }
  return held;
}

/** The referral status these CRM values would send, if they change it. */
function targetStatus(s: PairSnapshot, toPc: CanonicalRecord): unknown {
  return s.mapping.canonicalToReferralChanges(toPc, s.referral).find((c) => pathOf(c.path) === 'status')?.value;
}
