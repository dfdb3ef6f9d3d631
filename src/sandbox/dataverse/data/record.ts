export interface EntityReferenceValue {
  id: string;
  logicalName: string;
}

/**
 * Canonical in-memory value of a column: strings (text, GUIDs, ISO dates — `YYYY-MM-DD` for DateOnly,
 * `YYYY-MM-DDTHH:MM:SSZ` otherwise), numbers (integers, money, option values), booleans, option arrays
 * (multi-select), entity references (lookups), or null.
 */
export type StoredValue = string | number | boolean | null | number[] | EntityReferenceValue;

export type RecordValues = Record<string, StoredValue>;

export interface StoredRecord {
  entity: string;
  id: string;
  /** Insertion order; the default sort when a query has no `$orderby`. */
  sequence: number;
  values: RecordValues;
}

export function isEntityReference(value: StoredValue | undefined): value is EntityReferenceValue {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function sameValue(a: StoredValue | undefined, b: StoredValue | undefined): boolean {
  if (isEntityReference(a) && isEntityReference(b)) return a.id === b.id && a.logicalName === b.logicalName;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => item === b[index]);
  return (a ?? null) === (b ?? null);
}

/** Dataverse row timestamps have whole-second precision on the wire. */
export function nowIso(now: Date = new Date()): string {
  return `${now.toISOString().slice(0, 19)}Z`;
}
