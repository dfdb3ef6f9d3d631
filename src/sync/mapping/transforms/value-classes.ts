import type { PcMapValue, Scalar } from '../spec-schema.ts';

/*
 * Value maps as equivalence classes. Every `{ pc, crm }` entry joins its two values; entries sharing a value on either
 * side fall into one class. The canonical value of a field is its class's label, so two values the mapping cannot tell
 * apart compare equal and a lossy mapping never produces an endless diff. Example (opportunity state):
 *
 *   Active/Accepted ─┐                        Closed/Lost ────┐
 *   New/Pending ─────┼── open                 Closed/Declined ┼── lost
 *   New/Received ────┘                        Closed/Expired ─┘
 *
 * PC Closed/Declined and CRM `lost` are equal; writing the class `Closed/Lost` to the CRM gives `lost`, and writing it
 * to PC gives the first PC value listed for the class (Closed/Lost). So the order of entries decides the value
 * written where several map to one: the first listed wins.
 *
 * Labels: the PC value(s) of the class's first entry (`"Closed/Lost"` — canonical values use Partner Center's
 * vocabulary), or `null` for the class containing an empty value, so "empty" stays `null` everywhere.
 */

export type ClassLabel = string | null;

export interface ValueClasses {
  /** undefined: the value is in no class (unmapped). */
  classOfPc(values: readonly unknown[]): ClassLabel | undefined;
  classOfCrm(value: unknown): ClassLabel | undefined;
  /** The PC values to write for a class (first entry listed), or undefined for a label that is no class. */
  pcOf(label: ClassLabel): Scalar[] | undefined;
  crmOf(label: ClassLabel): Scalar | undefined;
  /** Classes holding several distinct values on *both* sides: values the mapping silently treats as equal. */
  ambiguous(): Array<{ pc: string[]; crm: string[] }>;
  /** True when the PC empty value and the CRM empty value sit in different classes (both would read as null). */
  splitsEmpty(): boolean;
}

interface Entry {
  pc: Scalar[];
  crm: Scalar;
}

/**
 * Matching is loose on purpose: strings compare trimmed and case-insensitively, and `"100000000"` equals
 * `100000000`, because connectors and APIs are not consistent about either and a missed match means an unsynced field.
 */
export function scalarKey(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return `b:${value}`;
  if (typeof value === 'number') return `n:${value}`;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return 'null';
    if (/^-?\d+(\.\d+)?$/.test(text)) return `n:${Number(text)}`;
    return `s:${text.toLowerCase()}`;
  }
  return `x:${JSON.stringify(value)}`;
}

function tupleKey(values: readonly unknown[]): string {
  const keys = values.map(scalarKey);
  return keys.every((k) => k === 'null') ? 'null' : keys.join('|');
}

export function asTuple(value: PcMapValue): Scalar[] {
  return Array.isArray(value) ? [...value] : [value as Scalar];
}

export function labelOfTuple(values: readonly Scalar[]): ClassLabel {
  return values.every((v) => v === null) ? null : values.map((v) => (v === null ? '' : String(v))).join('/');
}

/** Disjoint sets of value nodes; a node never added is its own (class-less) root. */
class UnionFind {
  private readonly parent = new Map<string, string>();

  has(node: string): boolean {
    return this.parent.has(node);
  }

  find(node: string): string {
    let root = node;
    for (let up = this.parent.get(root); up !== undefined && up !== root; up = this.parent.get(root)) root = up;
    if (this.parent.has(node)) this.parent.set(node, root);
    return root;
  }

  join(a: string, b: string): void {
    for (const node of [a, b]) if (!this.parent.has(node)) this.parent.set(node, node);
    this.parent.set(this.find(a), this.find(b));
  }
}

const pcNode = (values: readonly unknown[]) => `pc:${tupleKey(values)}`;
const crmNode = (value: unknown) => `crm:${scalarKey(value)}`;

/** One label and one representative entry per class, in the order entries are listed. */
function labelClasses(entries: readonly Entry[], sets: UnionFind): { labelOfRoot: Map<string, ClassLabel>; firstEntry: Map<ClassLabel, Entry> } {
  const labelOfRoot = new Map<string, ClassLabel>();
  const firstEntry = new Map<ClassLabel, Entry>();
  for (const entry of entries) {
    const root = sets.find(pcNode(entry.pc));
    if (labelOfRoot.has(root)) continue;
    const holdsEmpty = sets.find('pc:null') === root || sets.find('crm:null') === root;
    const label = holdsEmpty ? null : labelOfTuple(entry.pc);
    labelOfRoot.set(root, label);
    firstEntry.set(label, entry);
  }
  return { labelOfRoot, firstEntry };
}

function ambiguousClasses(entries: readonly Entry[], sets: UnionFind): Array<{ pc: string[]; crm: string[] }> {
  const byRoot = new Map<string, { pc: Set<string>; crm: Set<string> }>();
  for (const entry of entries) {
    const root = sets.find(pcNode(entry.pc));
    const group = byRoot.get(root) ?? { pc: new Set(), crm: new Set() };
    group.pc.add(labelOfTuple(entry.pc) ?? 'null');
    group.crm.add(String(entry.crm));
    byRoot.set(root, group);
  }
  return [...byRoot.values()].filter((g) => g.pc.size > 1 && g.crm.size > 1).map((g) => ({ pc: [...g.pc], crm: [...g.crm] }));
}

export function buildValueClasses(
  map: ReadonlyArray<{ pc: PcMapValue; crm: Scalar }>,
  fallback: { pc?: PcMapValue; crm?: Scalar } | undefined,
  arity: number,
): ValueClasses {
  const entries: Entry[] = map.map((e) => ({ pc: asTuple(e.pc), crm: e.crm }));
  const sets = new UnionFind();
  for (const entry of entries) sets.join(pcNode(entry.pc), crmNode(entry.crm));
  const { labelOfRoot, firstEntry } = labelClasses(entries, sets);
  const labelOf = (node: string): ClassLabel | undefined => (sets.has(node) ? labelOfRoot.get(sets.find(node)) : undefined);

  const classOfCrm = (value: unknown): ClassLabel | undefined => {
    const label = labelOf(crmNode(value));
    if (label !== undefined) return label;
    if (scalarKey(value) === 'null') return null;
    return fallback?.pc === undefined ? undefined : (labelOf(pcNode(asTuple(fallback.pc))) ?? null);
  };
  const classOfPc = (values: readonly unknown[]): ClassLabel | undefined => {
    const label = labelOf(pcNode(values));
    if (label !== undefined) return label;
    if (tupleKey(values) === 'null') return null;
    return fallback?.crm === undefined ? undefined : (labelOf(crmNode(fallback.crm)) ?? null);
  };

  return {
    classOfPc,
    classOfCrm,
    pcOf: (label) => {
      const entry = firstEntry.get(label);
      if (entry) return [...entry.pc];
      return label === null ? Array<Scalar>(arity).fill(null) : undefined;
    },
    crmOf: (label) => {
      const entry = firstEntry.get(label);
      if (entry) return entry.crm;
      return label === null ? null : undefined;
    },
    splitsEmpty: () => sets.has('pc:null') && sets.has('crm:null') && sets.find('pc:null') !== sets.find('crm:null'),
    ambiguous: () => ambiguousClasses(entries, sets),
  };
}
