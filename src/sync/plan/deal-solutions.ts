import type { CrmRecordRef } from '../../crm/connector.ts';
import type { FieldChange } from '../../partner-center/json-patch.ts';
import { isTerminal, type Referral } from '../../partner-center/model.ts';
import { awaitsAnswer } from './co-sell-decision.ts';
import type { AuditEntry } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import { solutionKey } from '../../crm/solutions.ts';
import { SOLUTIONS_FIELD } from '../referral-body.ts';
import { recordAudit, type AuditStamp } from './audit-entries.ts';

/*
 * A co-sell deal's Microsoft Solutions, both ways: the CRM deal's chosen solutions (Dynamics related table, Salesforce
 * junction object) ↔ the referral's `details.requirements.solutions` (`{ type: Name, id }`, "Create a referral").
 * A three-way merge of two sets against the set both sides last agreed on, kept in the pair's base:
 * - an id added or removed on either side is added or removed on the other;
 * - an id Partner Center holds that the CRM catalogue lacks is never removed from Partner Center nor created in the
 *   CRM: it is audited once (remembered in the base) and left alone;
 * - Partner Center refuses co-sell without a solution ("Solution ID is required"), so a change that would leave the
 *   referral with none is held: the CRM record gets ✖ and one Audit line, and the removal waits.
 */

/** Base keys: the ids both sides agreed on, the Partner Center ids already audited as unknown, a hold in force. */
export const SOLUTIONS_BASE = '@solutions';
export const UNKNOWN_SOLUTIONS_BASE = '@solutionsUnknown';
export const SOLUTIONS_HELD_BASE = '@solutionsHeld';

export const NO_SOLUTION_LEFT = 'add at least one Microsoft solution to the deal (co-sell with Microsoft requires one); the removal waits';

export interface DealSolutionsInput {
  stamp: AuditStamp;
  referralId: string;
  referral: Referral;
  ref: CrmRecordRef;
  /** The deal's chosen solutions in the CRM. */
  crm: readonly string[];
  /** The stored base (the link's), if any. */
  base: CanonicalRecord | undefined;
  /** The CRM catalogue's ids, read only when Partner Center holds ids neither side agreed on nor the CRM has. */
  catalogue: ReadonlySet<string> | undefined;
}

export interface DealSolutionsPlan {
  /** The deal's full list of solutions to write, or null when the CRM is already right. */
  toCrm: string[] | null;
  toPc: FieldChange | null;
  nextBase: CanonicalRecord;
  audit: AuditEntry[];
  /** The record's status: `held` starts a ✖, `released` clears it; null leaves it. */
  status: 'held' | 'released' | null;
}

/** A co-sell referral whose solutions sync: Shared, open, and not an incoming one still waiting for its answer. */
export function isSyncedCoSell(referral: Referral): boolean {
  return referral.type === 'Shared' && !isTerminal(referral) && !awaitsAnswer(referral);
}

/** The solution ids on the referral, in its order. */
export function referralSolutionIds(referral: Referral): string[] {
  const solutions = referral.details?.requirements?.solutions;
  return (Array.isArray(solutions) ? solutions : []).map((s: { id?: unknown }) => s.id).filter((id): id is string => typeof id === 'string' && id !== '');
}

const list = (value: unknown): string[] | undefined => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined);
const keys = (ids: readonly string[]) => new Set(ids.map(solutionKey));
const sorted = (ids: Iterable<string>) => [...new Map([...ids].map((id) => [solutionKey(id), id])).values()].sort((a, b) => a.localeCompare(b));

/**
 * Whether the plan needs the CRM catalogue: Partner Center names ids neither the base nor the CRM knows, or the CRM
 * lost an agreed id (removed by the seller, or with its catalogue row: then Partner Center keeps it).
 */
export function needsCatalogue(referral: Referral, crm: readonly string[], base: CanonicalRecord | undefined): boolean {
  const agreed = list(base?.[SOLUTIONS_BASE]) ?? [];
  const known = keys([...crm, ...agreed, ...(list(base?.[UNKNOWN_SOLUTIONS_BASE]) ?? [])]);
  const crmKeys = keys(crm);
  return referralSolutionIds(referral).some((id) => !known.has(solutionKey(id))) || agreed.some((id) => !crmKeys.has(solutionKey(id)));
}

export function planDealSolutionsSync(input: DealSolutionsInput): DealSolutionsPlan {
  const { referral, crm, base } = input;
  const pc = referralSolutionIds(referral);
  const crmKeys = keys(crm);
  const pcKeys = keys(pc);
  // A pair without a stored set yet (linked before this sync existed) removes nothing: only additions travel.
  const agreed = list(base?.[SOLUTIONS_BASE]) ?? pc.filter((id) => crmKeys.has(solutionKey(id)));
  const agreedKeys = keys(agreed);
  const audited = list(base?.[UNKNOWN_SOLUTIONS_BASE]) ?? [];
  const auditedKeys = keys(audited);
  const catalogue = input.catalogue;
  const pcAdded = pc.filter((id) => !agreedKeys.has(solutionKey(id)) && !crmKeys.has(solutionKey(id)) && !auditedKeys.has(solutionKey(id)));
  const importable = pcAdded.filter((id) => catalogue?.has(solutionKey(id)) === true);
  // An agreed id the CRM no longer has because its catalogue row went is not the seller's removal: Partner Center keeps it.
  const uncatalogued = agreed.filter((id) => !crmKeys.has(solutionKey(id)) && pcKeys.has(solutionKey(id)));
  const unknown = [...pcAdded, ...uncatalogued].filter((id) => catalogue !== undefined && !catalogue.has(solutionKey(id)));
  const wanted = sorted([
    ...agreed.filter((id) => crmKeys.has(solutionKey(id)) && pcKeys.has(solutionKey(id))),
    ...crm.filter((id) => !agreedKeys.has(solutionKey(id))),
    ...importable,
  ]);
  const wantedKeys = keys(wanted);
  // What stays in Partner Center outside the agreed set: ids the CRM catalogue lacks (never removed).
  const pcExtra = pc.filter((id) => !wantedKeys.has(solutionKey(id)) && (auditedKeys.has(solutionKey(id)) || unknown.some((u) => solutionKey(u) === solutionKey(id))));
  const pcWanted = [...wanted, ...pcExtra];
  const audit: AuditEntry[] = unknown.map((id) =>
    recordAudit(input.stamp, { referralId: input.referralId, ref: input.ref, direction: 'to-crm', outcome: 'skipped', message: `${SOLUTIONS_FIELD}: ${id} is on the referral but not in the CRM's Microsoft Solutions catalogue; not added to the deal (run "cosell solutions import")` }),
  );
  const nextUnknown = sorted([...audited, ...unknown].filter((id) => pcKeys.has(solutionKey(id))));
  const wasHeld = base?.[SOLUTIONS_HELD_BASE] === true;
  if (pcWanted.length === 0 && pc.length > 0) {
    const held: CanonicalRecord = { [SOLUTIONS_BASE]: sorted(agreed), [UNKNOWN_SOLUTIONS_BASE]: nextUnknown, [SOLUTIONS_HELD_BASE]: true };
    if (!wasHeld) audit.push(recordAudit(input.stamp, { referralId: input.referralId, ref: input.ref, direction: 'to-pc', outcome: 'failed', message: `not sent to Partner Center: ${SOLUTIONS_FIELD}: ${NO_SOLUTION_LEFT}` }));
    return { toCrm: null, toPc: null, nextBase: held, audit, status: wasHeld ? null : 'held' };
  }
  const crmChanged = !sameSet(wanted, crm);
  const pcChanged = !sameSet(pcWanted, pc);
  if (crmChanged) audit.push(recordAudit(input.stamp, { referralId: input.referralId, ref: input.ref, direction: 'to-crm', outcome: 'written', message: `${SOLUTIONS_FIELD}: ${wanted.join(', ') || '(none)'}` }));
  if (pcChanged) audit.push(recordAudit(input.stamp, { referralId: input.referralId, ref: input.ref, direction: 'to-pc', outcome: 'written', message: `${SOLUTIONS_FIELD}: ${pcWanted.join(', ')}` }));
  return {
    toCrm: crmChanged ? wanted : null,
    toPc: pcChanged ? { path: ['details', 'requirements', 'solutions'], value: solutionEntries(referral, pcWanted) } : null,
    nextBase: { [SOLUTIONS_BASE]: wanted, [UNKNOWN_SOLUTIONS_BASE]: nextUnknown, [SOLUTIONS_HELD_BASE]: false },
    audit,
    status: wasHeld ? 'released' : null,
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const ka = keys(a);
  const kb = keys(b);
  return ka.size === kb.size && [...ka].every((k) => kb.has(k));
}

/** The referral's solution entries for `ids`: an entry it already has is kept as is (extra fields and all). */
function solutionEntries(referral: Referral, ids: readonly string[]): unknown[] {
  const existing = referral.details?.requirements?.solutions;
  const byKey = new Map((Array.isArray(existing) ? existing : []).filter((s: { id?: unknown }) => typeof s.id === 'string').map((s: { id?: unknown }) => [solutionKey(String(s.id)), s as unknown]));
  return ids.map((id) => byKey.get(solutionKey(id)) ?? { type: 'Name', id });
}
