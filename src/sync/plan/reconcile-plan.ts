import type { CrmRecordRef } from '../../crm/connector.ts';
import type { FieldChange } from '../../partner-center/json-patch.ts';
import { isTerminal } from '../../partner-center/model.ts';
import type { AuditEntry, SyncCommit, WriteIntent } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import type { Merge } from '../entity-mapping.ts';
import type { MergeResult } from '../merge/index.ts';
import { canonicalEquals } from '../mapping/canonical.ts';
import { WELL_KNOWN } from '../connection.ts';
import { baseAfterUnfinishedSync } from '../write-intent.ts';
import { fieldAudit, recordAudit } from './audit-entries.ts';
import { conflictAudit, newHolds } from './conflict-audit.ts';
import { crmCanonical } from './crm-canonical.ts';
import { crmSideFromBase, markCrmMatch } from './crm-mirror.ts';
import { holdBackToPc, pathOf } from './hold-backs.ts';
import type { PairSnapshot } from './pair-snapshot.ts';
import { applyResolutions } from './resolutions.ts';
import { keepVisibility } from './visibility.ts';
import { decisionToSend } from './co-sell-decision.ts';
import { planCoSellUpgrade } from './co-sell-upgrade.ts';
import { closureAudit } from './closure-audit.ts';
import { acceptanceDefaults } from './acceptance-defaults.ts';
import { withLossReasonToCrm, withLossReasonToPc } from './loss-reason.ts';
import { planDealSolutionsSync, SOLUTIONS_HELD_BASE, type DealSolutionsPlan } from './deal-solutions.ts';
import { keptDealContacts, planDealContactsSync, type DealContactsPlan } from './deal-contacts.ts';
import { keptDealTeam, planDealTeamSync, type DealTeamPlan } from './deal-team.ts';

export type { PairSnapshot } from './pair-snapshot.ts';

export interface CrmUpdate {
  ref: CrmRecordRef;
  changes: Record<string, unknown>;
  ifVersion: string;
  status: { ok: boolean; conflict?: boolean };
  /** This run's audit rows, shown first in the record's Audit column above the stored history. */
  fresh: AuditEntry[];
}

/** What one sync of a pair does, in order: announce, write the CRM record, write the referral, commit. */
export interface ReconcilePlan {
  intent: WriteIntent | null;
  crmUpdate: CrmUpdate | null;
  pcPatch: { referralId: string; changes: FieldChange[]; ifMatch: string | undefined } | null;
  /** Carries the versions read; the applier puts in the ones its writes return. */
  commit: SyncCommit & { link: SyncCommit['link'] };
  /** The PATCH makes a private deal co-sell: Microsoft's connected referral joins its engagement afterwards. */
  coSellUpgrade?: boolean;
  /** A co-sell deal's Microsoft Solutions to set in the CRM (see deal-solutions.ts), written before the record. */
  dealSolutions?: { ref: CrmRecordRef; solutionIds: string[] } | null;
  /** An opportunity's customer contacts to link, edit or unlink in the CRM (see deal-contacts.ts), written before the record. */
  dealContacts?: { ref: CrmRecordRef; plan: Pick<DealContactsPlan, 'addToCrm' | 'editInCrm' | 'removeFromCrm'> } | null;
  /** CRM users (by e-mail) to add to the opportunity's team (see deal-team.ts). */
  dealTeam?: { ref: CrmRecordRef; emails: string[] } | null;
}

export const isEmpty = (record: CanonicalRecord): boolean => Object.keys(record).length === 0;

interface Sides {
  pc: CanonicalRecord;
  crm: CanonicalRecord;
  base: CanonicalRecord | undefined;
}

function sidesOf(s: PairSnapshot): Sides {
  const pc = s.mapping.referralToCanonical(s.referral, s.microsoftReferral);
  const crm = s.crmAssumed ? crmSideFromBase(s.mapping, s.link?.base) : crmCanonical({ mapping: s.mapping, record: s.record, references: [pc, s.link?.base], heldValue: s.heldValue });
  // The link fields are ours: they always follow the pair, whatever the merge would say.
  pc[WELL_KNOWN.referralId] = s.referralId;
  const base = baseAfterUnfinishedSync(s.link?.base, s.intent, { pc, crm });
  return { pc, crm, base };
}

/**
 * A value one of our syncs wrote to Partner Center (from this or another CRM) changed when that CRM edit was made,
 * not when we wrote it: otherwise our own write would look like the newest edit and beat a later real one.
 */
function pcFieldChangedAt(s: PairSnapshot, pc: CanonicalRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, w] of Object.entries(s.pcFieldWrites)) if (pc[key] !== undefined && canonicalEquals(pc[key], w.value)) out[key] = w.changedAt;
  return out;
}

function mergeSides(s: PairSnapshot, sides: Sides, merge: Merge): MergeResult {
  return merge({
    fields: s.mapping.fields,
    base: sides.base,
    pc: sides.pc,
    crm: sides.crm,
    pcFieldChangedAt: pcFieldChangedAt(s, sides.pc),
    crmFieldChangedAt: s.link ? s.crmFieldChangedAt : {},
    pcChangedAt: typeof s.referral.updatedDateTime === 'string' ? s.referral.updatedDateTime : undefined,
    crmChangedAt: s.crmChangedAt,
    origin: s.origin,
  });
}

/**
 * "CRM ID" on the referral, as Microsoft's connector fills it; also what finds the pair again after a crash. With
 * several CRMs it belongs to the CRM where the deal was born: a referral made from a CRM record carries that record's
 * id from its create and no connection overwrites it; only a referral without one (Microsoft's, or made in Partner
 * Center) gets the id of the designated connection's record.
 */
export function referralCrmIdChange(s: Pick<PairSnapshot, 'ownsReferralCrmId' | 'referral'> & { record: Pick<PairSnapshot['record'], 'ref'> }): FieldChange | null {
  const { referral, record } = s;
  const bornInACrm = referral.direction === 'Outgoing' && typeof referral.externalReferenceId === 'string' && referral.externalReferenceId !== '';
  if (s.ownsReferralCrmId && !bornInACrm && referral.externalReferenceId !== record.ref.id && !isTerminal(referral)) {
    return { path: ['externalReferenceId'], value: record.ref.id };
  }
  return null;
}

/** The merge and what it takes to carry it out, for every path once both sides exist. */
export function planReconcile(s: PairSnapshot, merge: Merge): ReconcilePlan {
  const sides = sidesOf(s);
  const { pc, crm, base } = sides;
  // At an acceptance, values that only follow the CRM's state are Partner Center's (acceptance-defaults.ts).
  const accepted = acceptanceDefaults(s, pc, crm);
  const kept = keepVisibility(s, mergeSides(s, { ...sides, crm: { ...crm, ...accepted } }, merge), pc);
  const result = kept.result;
  for (const [key, value] of Object.entries(accepted)) if (!canonicalEquals(crm[key], value)) result.toCrm[key] = value;
  const resolved = applyResolutions({ result, held: s.held, pc, crm });
  const upgrade = planCoSellUpgrade(s, crm);
  const { toPc, nextBase, skipped } = holdBackToPc({ snapshot: s, result, pc, base, also: upgrade?.kind === 'wait' ? [[upgrade.key, upgrade.reason]] : [] });
  // The seller is told on the record why the help request waits (✖ and its Audit line), once per CRM edit.
  const upgradeWaits = upgrade?.kind === 'wait' ? skipped.filter((row) => row.field === upgrade.key) : [];
  const solutions = solutionsPlan(s);
  const contacts = contactsPlan(s);
  const team = teamPlan(s);
  const coSellRows = [...(upgrade?.kind === 'send' ? [upgrade.audit] : []), ...closureAudit(s, result.toCrm), ...(solutions?.audit ?? []), ...(contacts?.audit ?? []), ...(team?.audit ?? [])];
  const solutionsHeld = solutions?.nextBase[SOLUTIONS_HELD_BASE] === true;

  // Announced before the first write, so a crash before the commit cannot make our own write look foreign. A first
  // link without a base has nothing to protect: the origin side decides again on the next run.
  const writes = !isEmpty(result.toCrm) || !isEmpty(toPc);
  const intent: WriteIntent | null =
    base !== undefined && writes ? { connection: s.stamp.connection, referralId: s.referralId, crmEntity: s.record.ref.entity, base, toCrm: result.toCrm, toPc } : null;
  const resolvedNote = (key: string) => (resolved.has(key) ? `conflict resolved by an operator: ${resolved.get(key)}` : null);
  const written = (direction: 'to-crm' | 'to-pc', from: CanonicalRecord, changes: CanonicalRecord) =>
    Object.entries(changes).map(([key, value]) =>
      fieldAudit(s.stamp, { referralId: s.referralId, ref: s.record.ref, direction, field: key, oldValue: from[key], newValue: value, outcome: 'written', message: resolvedNote(key) }),
    );
  const fieldRows = [...written('to-crm', crm, result.toCrm), ...written('to-pc', pc, toPc)];
  // A hold is audited (and shown on the record) once, when it starts or its values change, not on every pass.
  const holds = newHolds(result, s.held);
  const released = s.held.filter((h) => !result.held.includes(h.field));
  const conflictRows = conflictAudit({ stamp: s.stamp, referralId: s.referralId, ref: s.record.ref, result, newHolds: holds });
  const decided = decisionToSend(s);
  const decisionRows = decided === null ? [] : ['audit' in decided ? decided.audit : decided.problem];
  const crmUpdate = planCrmUpdate({ s, result, fresh: [...s.audit, ...decisionRows, ...coSellRows, ...upgradeWaits, ...kept.refused, ...fieldRows, ...conflictRows], needed: holds.length > 0 || released.length > 0 || upgradeWaits.length > 0 || (solutions?.status ?? null) !== null, failed: upgradeWaits.length > 0 || solutionsHeld });

  // A decision is all an unanswered referral takes (see co-sell-decision.ts); an acceptance carries the seller's edits.
  const edits = withLossReasonToPc(s, s.mapping.canonicalToReferralChanges(toPc, s.referral));
  const pcChanges = decided && 'changes' in decided ? withDecision(decided.changes, edits) : edits;
  const crmId = decided && 'changes' in decided ? null : referralCrmIdChange(s);
  if (crmId) pcChanges.push(crmId);
  if (upgrade?.kind === 'send') pcChanges.push(...upgrade.changes);
  if (solutions?.toPc) pcChanges.push(solutions.toPc);
  if (contacts?.toPc) pcChanges.push(contacts.toPc);
  if (team?.toPc) pcChanges.push(team.toPc);
  const heldAfter = result.conflicts.some((c) => c.resolution === 'held');
  const committedBase = markCrmMatch({ mapping: s.mapping, crm, toCrm: result.toCrm, base: { ...nextBase, ...solutions?.nextBase, ...contacts?.nextBase, ...team?.nextBase }, held: heldAfter || skipped.length > 0 });
  const commit: ReconcilePlan['commit'] = {
    link: { connection: s.stamp.connection, referralId: s.referralId, crmEntity: s.record.ref.entity, crmId: s.record.ref.id, base: committedBase, pcEtag: s.eTag ?? null, crmVersion: s.record.version, syncState: 'ok', lastError: null },
    audit: [...s.audit, ...(s.link ? [] : [linkedAudit(s)]), ...decisionRows, ...coSellRows, ...kept.refused, ...fieldRows, ...conflictRows, ...skipped],
    holdConflicts: result.conflicts.filter((c) => c.resolution === 'held').map((c) => ({ field: c.key, base: c.base, pc: c.pc, crm: c.crm })),
    releaseConflicts: released.map((h) => h.field),
    ...(pcChanges.length > 0 ? { pcFieldWrites: Object.fromEntries(Object.entries(toPc).map(([key, value]) => [key, { value, changedAt: s.record.modifiedAt }])) } : {}),
  };
  return { intent, crmUpdate, pcPatch: pcChanges.length > 0 ? { referralId: s.referralId, changes: pcChanges, ifMatch: s.eTag } : null, commit, coSellUpgrade: upgrade?.kind === 'send', dealSolutions: solutions?.toCrm ? { ref: s.record.ref, solutionIds: solutions.toCrm } : null, dealContacts: contactsToCrm(s, contacts), dealTeam: team && team.addToCrm.length > 0 ? { ref: s.record.ref, emails: team.addToCrm } : null };
}

/** A linked opportunity's customer contacts both ways, when the snapshot read them. */
function contactsPlan(s: PairSnapshot): DealContactsPlan | null {
  // Not read (nothing says they changed): what the pair agreed on stays in its base.
  if (!s.dealContacts) return s.link?.base ? keptDealContacts(s.link.base) : null;
  return planDealContactsSync({ stamp: s.stamp, referralId: s.referralId, referral: s.referral, ref: s.record.ref, crm: s.dealContacts, base: s.link?.base, propagateRemovals: s.mapping.propagateContactRemovals === true, readAt: s.peopleReadAt });
}

/** A linked opportunity's partner team both ways, when the snapshot read it. */
function teamPlan(s: PairSnapshot): DealTeamPlan | null {
  if (!s.dealTeam) return s.link?.base ? keptDealTeam(s.link.base) : null;
  return planDealTeamSync({ stamp: s.stamp, referralId: s.referralId, referral: s.referral, ref: s.record.ref, crm: s.dealTeam.crm, users: s.dealTeam.users, base: s.link?.base, readAt: s.peopleReadAt });
}

function contactsToCrm(s: PairSnapshot, contacts: DealContactsPlan | null): ReconcilePlan['dealContacts'] {
  if (!contacts || contacts.addToCrm.length + contacts.editInCrm.length + contacts.removeFromCrm.length === 0) return null;
  return { ref: s.record.ref, plan: { addToCrm: contacts.addToCrm, editInCrm: contacts.editInCrm, removeFromCrm: contacts.removeFromCrm } };
}

/** A linked co-sell deal's Microsoft Solutions both ways, when the snapshot read them. */
function solutionsPlan(s: PairSnapshot): DealSolutionsPlan | null {
  if (!s.coSellSolutions) return null;
  return planDealSolutionsSync({ stamp: s.stamp, referralId: s.referralId, referral: s.referral, ref: s.record.ref, crm: s.coSellSolutions.crm, base: s.link?.base, catalogue: s.coSellSolutions.catalogue });
}

/** The decision's status fields, then the edits it lets through (an acceptance's); the decision wins a shared path. */
function withDecision(decision: FieldChange[], edits: FieldChange[]): FieldChange[] {
  const decided = new Set(decision.map((c) => pathOf(c.path)));
  return [...decision, ...edits.filter((c) => !decided.has(pathOf(c.path)))];
}

function linkedAudit(s: PairSnapshot): AuditEntry {
  return recordAudit(s.stamp, { referralId: s.referralId, ref: s.record.ref, outcome: 'linked', message: `linked (${s.origin === 'pc' ? 'from Partner Center' : 'from the CRM'})` });
}

/**
 * The CRM record is written when the merge sends it values, when it must leave an error state, or when a hold starts
 * or ends: the record says Conflict (✖) while a field is held, and Synced again once the last hold is released.
 */
function planCrmUpdate(input: { s: PairSnapshot; result: MergeResult; fresh: AuditEntry[]; needed: boolean; failed: boolean }): CrmUpdate | null {
  const { s, result } = input;
  const hadError = s.link?.syncState === 'error';
  if (isEmpty(result.toCrm) && !hadError && !input.needed) return null;
  const status = { ok: result.held.length === 0 && !input.failed, ...(result.held.length > 0 ? { conflict: true } : {}) };
  return { ref: s.record.ref, changes: withLossReasonToCrm(s, s.mapping.canonicalToCrm(result.toCrm)), ifVersion: s.record.version, status, fresh: input.fresh };
}
