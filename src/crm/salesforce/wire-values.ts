import type { FieldDescribe } from './describe.ts';

/*
 * Salesforce JSON ⇄ the neutral values the mapping works with. Dates are `YYYY-MM-DD` both ways; datetimes arrive as
 * `2026-11-21T05:00:00.000+0000` and leave as ISO 8601 with Z; multi-select picklists are `A;B` on the wire and string
 * arrays in the mapping; lookups are 18-character ids.
 */

export function isoInstant(value: string): string | null {
  // `+0000` is not an offset form every Date parser accepts; make it `+00:00`.
  const normalized = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(normalized);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

export function fromWire(value: unknown, field: FieldDescribe | undefined): unknown {
  if (value === undefined) return null;
  if (value === null || !field) return value;
  if (field.type === 'datetime' && typeof value === 'string') return isoInstant(value) ?? value;
  if (field.type === 'multipicklist' && typeof value === 'string') return value.split(';').map((item) => item.trim()).filter((item) => item !== '');
  return value;
}

export function toWire(value: unknown, field: FieldDescribe | undefined): unknown {
  if (value === null || value === undefined || !field) return value ?? null;
  if (value instanceof Date) return field.type === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
  switch (field.type) {
    case 'date':
      // A full instant (as Partner Center sends closing dates) is written as its UTC date.
      return typeof value === 'string' && value.length > 10 ? (isoInstant(value)?.slice(0, 10) ?? value) : value;
    case 'datetime':
      return typeof value === 'string' ? (isoInstant(value) ?? value) : value;
    case 'multipicklist': {
      const items = (Array.isArray(value) ? value : [value]).map((item) => String(item).trim()).filter((item) => item !== '');
      // An empty multi-select is cleared with null, not with an empty string.
      return items.length === 0 ? null : items.join(';');
    }
    case 'reference':
      if (typeof value === 'object' && value !== null && 'id' in value && typeof (value as { id: unknown }).id === 'string') return (value as { id: string }).id;
      return value;
    default:
      return value;
  }
}
