import { isMultiSelectColumn, type ColumnInfo } from './column-catalog.ts';

/*
 * Dataverse JSON ⇄ the neutral values the mapping works with.
 *
 * dynamics-web-api parses responses with a reviver that turns every string shaped like `2026-01-02T03:04:05Z` into a
 * Date (whole-second, UTC — the shape Dataverse uses for DateTime columns). DateOnly columns arrive as `YYYY-MM-DD` and
 * are left alone. So a Date here is a date-time and goes back to the same ISO text.
 */

export function isoInstant(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Multi-select choices: canonical values are the option numbers as decimal strings, in the order Dataverse lists them. */
export function multiSelectFromWire(value: unknown): string[] | null {
  if (value === null || value === undefined || value === '') return null;
  if (Array.isArray(value)) return value.map((item) => String(item).trim());
  if (typeof value === 'number') return [String(value)];
  if (typeof value === 'string') return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  return null;
}

export function multiSelectToWire(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const items = Array.isArray(value) ? value : [value];
  const parts = items.map((item) => String(item).trim()).filter((item) => item !== '');
  // Dataverse clears a multi-select with null; an empty string is not a valid option list.
  return parts.length === 0 ? null : parts.join(',');
}

const NUMERIC_TYPES: ReadonlySet<string> = new Set(['Money', 'Decimal', 'Double', 'Integer', 'BigInt']);

export function fromWire(value: unknown, info: ColumnInfo | undefined): unknown {
  if (value instanceof Date) return isoInstant(value);
  if (isMultiSelectColumn(info)) return multiSelectFromWire(value);
  if (value === undefined) return null;
  // Numbers arrive as JSON numbers unless a proxy or org setting asks for IEEE754Compatible strings; either way a number.
  if (typeof value === 'string' && info && NUMERIC_TYPES.has(info.attributeType) && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return value;
}

/** A plain (non-lookup) column value for a request body. */
export function toWire(value: unknown, info: ColumnInfo | undefined): unknown {
  if (value instanceof Date) return isoInstant(value);
  if (isMultiSelectColumn(info)) return multiSelectToWire(value);
  return value;
}
