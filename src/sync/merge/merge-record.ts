import { canonicalEquals } from '../mapping/canonical.ts';
import type { ConflictPolicy, SyncDirection } from '../mapping/spec-schema.ts';
import type { CanonicalRecord, CanonicalValue } from '../../canonical-value.ts';

/*
 * Three-way merge of one linked pair, field by field (DESIGN "Three-way merge, per field").
 *
 * Per field, with base b (last synced), Partner Center p and CRM c:
 *
 *  one-way fields (`to-crm` / `to-pc`): the target follows the source whenever they differ, changed or not. This is
 *    what corrects a hand edit of a mirrored column (referral id, Microsoft's CRM id) and what makes a direction
 *    change safe: the base of a one-way field always ends as the source's value, so switching to `both` later starts
 *    from an agreed value, and switching from `both` to one-way simply lets the source win from then on. The conflict
 *    policy does not apply: there is nothing to decide.
 *
 *  `both` fields:
 *    p = c                      → nothing to write; base becomes that value (this also settles a held conflict once
 *                                 someone makes the sides agree).
 *    only one side differs from b → it flows to the other side.
 *    both differ from b (and from each other) → conflict, resolved by the field's policy:
 *        pc-wins / crm-wins     → that side's value is written to the other;
 *        newest-wins            → the side whose record changed last (pcChangedAt vs crmChangedAt); a tie or a
 *                                 missing timestamp goes to Partner Center: it is the shared record Microsoft sees
 *                                 and the more constrained one (transitions, terminal states), so preferring it
 *                                 avoids writes Partner Center would refuse. Partner Center's time is per field
 *                                 where known (`pcFieldChangedAt`: a value our sync wrote carries the time of the
 *                                 CRM edit it came from, never the time of our write), and so is the CRM's
 *                                 (`crmFieldChangedAt`: from the notifications that named the field); otherwise the
 *                                 record's;
 *        manual                 → held: no write either way, base unchanged, listed in `held` until the sides agree
 *                                 (or one side goes back to the base value, which makes it a one-sided change).
 *
 *  no base (the pair is being linked now): the side that created the pair (`origin`) is authoritative for `both`
 *    fields. A field missing from an existing base (newly added to the mapping) or a first link without `origin` has
 *    no authority to go by, so a difference is treated as a conflict under the field's policy.
 *
 *  unreadable values (key absent from `pc` or `crm`: unmapped value, column not read): a `both` field is skipped and
 *    keeps its base; a one-way field still makes the target follow a readable source (a value we cannot even read
 *    on the target side is by definition not the source's).
 *
 *  link-only fields (a constant applied `on: create`) take part only when the pair has no base yet.
 *
 * Echo suppression falls out: after the writes, both sides equal nextBase, so the notification caused by our own
 * write finds p = c = b and plans nothing. nextBase must be stored only after every planned write succeeded.
 */

export type Side = 'pc' | 'crm';

export interface MergeField {
  key: string;
  direction: SyncDirection;
  conflict: ConflictPolicy;
  /** Only synced when a pair is first linked (no base). */
  linkOnly?: boolean;
}

export interface MergeInput {
  fields: readonly MergeField[];
  /** The last-synced canonical record; undefined for a pair being linked for the first time. */
  base: CanonicalRecord | undefined;
  pc: CanonicalRecord;
  crm: CanonicalRecord;
  /** When each record last changed (referral `updatedDateTime`, CRM `modifiedon`); used by `newest-wins`. */
  pcChangedAt?: string | Date;
  crmChangedAt?: string | Date;
  /**
   * Per field, when Partner Center's value really changed, where known better than the record's time: a value one of
   * our syncs wrote there carries the time of the CRM edit it came from, not the time of our write.
   */
  pcFieldChangedAt?: Readonly<Record<string, string>>;
  /** Per field, when the CRM's value changed, where its notifications tell (the record's time moves with any field). */
  crmFieldChangedAt?: Readonly<Record<string, string>>;
  /** For a first link: which side created the pair and is therefore authoritative. */
  origin?: Side;
}

export interface MergeConflict {
  key: string;
  base: CanonicalValue | undefined;
  pc: CanonicalValue;
  crm: CanonicalValue;
  policy: ConflictPolicy;
  resolution: 'pc' | 'crm' | 'held';
}

export interface MergeResult {
  toCrm: CanonicalRecord;
  toPc: CanonicalRecord;
  nextBase: CanonicalRecord;
  conflicts: MergeConflict[];
  /** Keys of `manual` conflicts left unresolved. */
  held: string[];
  /** Keys not compared because a side's value could not be read. */
  skipped: string[];
}

export function mergeRecord(input: MergeInput): MergeResult {
  const result: MergeResult = { toCrm: {}, toPc: {}, nextBase: {}, conflicts: [], held: [], skipped: [] };
  const recordNewer = newerSide(input.pcChangedAt, input.crmChangedAt);
  for (const field of input.fields) mergeField({ input, field, result, recordNewer });
  return result;
}

/** One field of one merge: what it reads and where its decision goes. */
interface FieldMerge {
  input: MergeInput;
  field: MergeField;
  result: MergeResult;
  /** The side whose record changed last, for fields no per-field time dates. */
  recordNewer: Side;
}

function mergeField(m: FieldMerge): void {
  const { input, field, result } = m;
  const { key } = field;
  const hasBase = input.base !== undefined && Object.hasOwn(input.base, key);
  const base = hasBase ? input.base?.[key] : undefined;
  const keepBase = () => {
    if (hasBase) result.nextBase[key] = base as CanonicalValue;
  };
  if (field.linkOnly && input.base !== undefined) return keepBase();
  const pc = Object.hasOwn(input.pc, key) ? input.pc[key] : undefined;
  const crm = Object.hasOwn(input.crm, key) ? input.crm[key] : undefined;
  const take = (from: Side) => {
    const value = (from === 'pc' ? pc : crm) as CanonicalValue;
    if (from === 'pc' && !canonicalEquals(value, crm)) result.toCrm[key] = value;
    if (from === 'crm' && !canonicalEquals(value, pc)) result.toPc[key] = value;
    result.nextBase[key] = value;
  };

  if (field.direction !== 'both') {
    const source: Side = field.direction === 'to-crm' ? 'pc' : 'crm';
    if ((source === 'pc' ? pc : crm) !== undefined) return take(source);
    result.skipped.push(key);
    return keepBase();
  }
  if (pc === undefined || crm === undefined) {
    result.skipped.push(key);
    return keepBase();
  }
  if (canonicalEquals(pc, crm)) {
    result.nextBase[key] = pc;
    return;
  }
  if (input.base === undefined && input.origin !== undefined) return take(input.origin);
  if (hasBase) {
    const pcChanged = !canonicalEquals(pc, base);
    const crmChanged = !canonicalEquals(crm, base);
    if (pcChanged !== crmChanged) return take(pcChanged ? 'pc' : 'crm');
  }
  const resolution = resolve(field.conflict, newerForField(m));
  result.conflicts.push({ key, base, pc, crm, policy: field.conflict, resolution });
  if (resolution !== 'held') return take(resolution);
  result.held.push(key);
  keepBase();
}

/** Which side changed the field last: per-field times where known, else the records' times. */
function newerForField({ input, field, recordNewer }: FieldMerge): Side {
  const fieldTime = input.pcFieldChangedAt?.[field.key];
  const crmFieldTime = input.crmFieldChangedAt?.[field.key];
  if (fieldTime === undefined && crmFieldTime === undefined) return recordNewer;
  return newerSide(fieldTime ?? input.pcChangedAt, crmFieldTime ?? input.crmChangedAt);
}

function resolve(policy: ConflictPolicy, newer: Side): Side | 'held' {
  switch (policy) {
    case 'pc-wins':
      return 'pc';
    case 'crm-wins':
      return 'crm';
    case 'newest-wins':
      return newer;
    case 'manual':
      return 'held';
  }
}

function newerSide(pcChangedAt: string | Date | undefined, crmChangedAt: string | Date | undefined): Side {
  const pc = toMillis(pcChangedAt);
  const crm = toMillis(crmChangedAt);
  return pc !== undefined && crm !== undefined && crm > pc ? 'crm' : 'pc';
}

function toMillis(value: string | Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
