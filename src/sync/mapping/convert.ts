import type { FieldChange } from '../../partner-center/json-patch.ts';
import type { Referral } from '../../partner-center/model.ts';
import { readAt, type PcSegment } from './pc-path.ts';
import { planReferralPatch, type PcWrite } from './referral-patch.ts';
import { flowsToCrm, flowsToPc, type EntitySpec, type FieldMapping } from './spec.ts';
import { codecFor } from './transforms/index.ts';
import type { CanonicalRecord, CanonicalValue } from '../../canonical-value.ts';

/*
 * Pure conversions between each side and canonical records. Every field is read on both sides whatever its direction
 * (the merge needs both values to compare; directions only gate writes). A value that cannot be read — no map entry,
 * a column the connector did not return, the Microsoft referral not supplied — leaves the key out of the record, which
 * the merge treats as "unknown", never as "empty"; `onIssue` says why, for the audit.
 */

export interface ConversionIssue {
  key: string;
  side: 'pc' | 'crm';
  reason: string;
}

interface IssueSink {
  onIssue?: (issue: ConversionIssue) => void;
}

export interface ReferralReadOptions extends IssueSink {
  /** For entities mapped to a PC list (`pcItems`, e.g. contacts ⇄ customerProfile.team): which element. */
  item?: number;
  /**
   * Microsoft's referral in the same engagement, for `@microsoft.` paths. `null`: known not to exist (its fields read
   * as empty); omitted: not fetched (its fields are left out, so nothing is cleared for lack of a read).
   */
  microsoftReferral?: Referral | null;
}

export interface ReferralWriteOptions extends IssueSink {
  /** The referral as last read; lets each change get the right op (see referral-patch.ts). Strongly recommended. */
  current?: Referral;
  /** For `pcItems` entities: the element to update, or `append` to add a new element holding all the changes. */
  item?: number | 'append';
}

export function referralToCanonical(entity: EntitySpec, referral: Referral, options: ReferralReadOptions = {}): CanonicalRecord {
  const record: CanonicalRecord = {};
  let itemRoot: unknown = referral;
  if (entity.pcItems) {
    const item = requireItem(entity, options.item);
    itemRoot = readAt(referral, [...entity.pcItems.segments, item]);
    // A missing element is not an element with empty values: reading it as nulls would clear the CRM record.
    if (itemRoot === undefined || itemRoot === null) {
      for (const field of entity.fields) options.onIssue?.({ key: field.key, side: 'pc', reason: `${entity.pcItems.text}[${item}] does not exist` });
      return record;
    }
  }
  for (const field of entity.fields) {
    const values: unknown[] = [];
    let missing: string | undefined;
    for (const path of field.pc) {
      if (path.source === 'microsoft') {
        if (options.microsoftReferral === undefined) missing = "Microsoft's referral was not read";
        values.push(readAt(options.microsoftReferral ?? undefined, path.segments));
      } else {
        values.push(readAt(itemRoot, path.segments));
      }
    }
    if (missing) {
      options.onIssue?.({ key: field.key, side: 'pc', reason: missing });
      continue;
    }
    const reading = codecFor(field).fromPc(values);
    if (reading.ok) record[field.key] = reading.value;
    else options.onIssue?.({ key: field.key, side: 'pc', reason: reading.reason });
  }
  return record;
}

/** `crmValues` as the connector reads them: picklists and money as numbers, `YYYY-MM-DD` dates, lists for multi-selects. */
export function crmToCanonical(entity: EntitySpec, crmValues: Readonly<Record<string, unknown>>, options: IssueSink = {}): CanonicalRecord {
  const record: CanonicalRecord = {};
  for (const field of entity.fields) {
    const unread = field.crm.find((column) => !Object.hasOwn(crmValues, column));
    if (unread !== undefined) {
      options.onIssue?.({ key: field.key, side: 'crm', reason: `column ${unread} was not read` });
      continue;
    }
    const reading = codecFor(field).fromCrm(field.crm.map((column) => crmValues[column]));
    if (reading.ok) record[field.key] = reading.value;
    else options.onIssue?.({ key: field.key, side: 'crm', reason: reading.reason });
  }
  return record;
}

/** Column → value to write. Lookup columns get a LookupReference for the connector to resolve. */
export function canonicalToCrm(entity: EntitySpec, changes: CanonicalRecord, options: IssueSink = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, value] of fieldsOf(entity, changes, 'crm', options)) {
    if (!flowsToCrm(field.direction)) {
      options.onIssue?.({ key: field.key, side: 'crm', reason: `direction ${field.direction} never writes the CRM` });
      continue;
    }
    const writing = codecFor(field).toCrm(value);
    if (!writing.ok) {
      options.onIssue?.({ key: field.key, side: 'crm', reason: writing.reason });
      continue;
    }
    field.crm.forEach((column, index) => {
      out[column] = writing.values[index] ?? null;
    });
  }
  return out;
}

/** JSON-Patch-ready changes; a composite field writes each of its paths (`/status` then `/substatus`). */
export function canonicalToReferralChanges(entity: EntitySpec, changes: CanonicalRecord, options: ReferralWriteOptions = {}): FieldChange[] {
  const writes: PcWrite[] = [];
  for (const [field, value] of fieldsOf(entity, changes, 'pc', options)) {
    if (!flowsToPc(field.direction)) {
      options.onIssue?.({ key: field.key, side: 'pc', reason: `direction ${field.direction} never writes Partner Center` });
      continue;
    }
    const writing = codecFor(field).toPc(value);
    if (!writing.ok) {
      options.onIssue?.({ key: field.key, side: 'pc', reason: writing.reason });
      continue;
    }
    field.pc.forEach((path, index) => writes.push({ segments: path.segments, value: writing.values[index] ?? null, key: field.key }));
  }
  if (writes.length === 0) return [];
  if (!entity.pcItems) return reportRejected(planReferralPatch(writes, options.current), options);

  const items = entity.pcItems.segments;
  const target = options.item ?? requireItem(entity, undefined);
  if (target !== 'append') return reportRejected(planReferralPatch(withRoot([...items, target], writes), options.current), options);
  // A new element is one `add` of the whole object; if the list itself is missing, the list is created with it.
  const element = writes.reduce<Record<string, unknown>>((obj, w) => setIn(obj, w.segments, w.value), {});
  const list = options.current === undefined ? [] : readAt(options.current, items);
  if (Array.isArray(list)) return [{ path: [...items.map(String), '-'], value: element, op: 'add' }];
  return reportRejected(planReferralPatch([{ segments: items, value: [element] }], options.current), options);
}

// ---------------------------------------------------------------------------------------------------------------

function requireItem(entity: EntitySpec, item: number | undefined): number {
  if (item === undefined) throw new TypeError(`${entity.entity} is mapped to the elements of ${entity.pcItems?.text ?? 'a list'}: pass options.item`);
  return item;
}

/** Lazily, so issues are reported in the order of the changes. */
function* fieldsOf(entity: EntitySpec, changes: CanonicalRecord, side: 'pc' | 'crm', sink: IssueSink): Generator<[FieldMapping, CanonicalValue]> {
  for (const [key, value] of Object.entries(changes)) {
    const field = entity.fields.find((f) => f.key === key);
    if (field) yield [field, value];
    else sink.onIssue?.({ key, side, reason: `${entity.entity} has no field "${key}"` });
  }
}

function withRoot(root: readonly PcSegment[], writes: readonly PcWrite[]): PcWrite[] {
  return writes.map((w) => ({ ...w, segments: [...root, ...w.segments] }));
}

function setIn(obj: Record<string, unknown>, segments: readonly PcSegment[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = segments;
  if (head === undefined) return obj;
  const key = String(head);
  const child = obj[key];
  obj[key] = rest.length === 0 ? value : setIn(typeof child === 'object' && child !== null ? (child as Record<string, unknown>) : {}, rest, value);
  return obj;
}

function reportRejected(plan: ReturnType<typeof planReferralPatch>, sink: IssueSink): FieldChange[] {
  for (const rejected of plan.rejected) sink.onIssue?.({ key: rejected.key ?? rejected.path, side: 'pc', reason: `${rejected.path}: ${rejected.reason}` });
  return plan.changes;
}
