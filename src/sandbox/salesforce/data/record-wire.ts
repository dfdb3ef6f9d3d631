import type { FieldDefinition, FieldValue } from '../schema/field-model.ts';
import type { SObjectType } from '../schema/object-model.ts';
import type { StoredRecord } from './record-store.ts';
import { formatRestDateTime } from './wire-dates.ts';

/** `/services/data/v62.0/sobjects/Opportunity/006…` — the `attributes.url` of every REST record. */
export function sobjectUrl(version: string, sobject: string, id: string, apiPrefix = ''): string {
  return `/services/data/v${version}${apiPrefix}/sobjects/${sobject}/${id}`;
}

/** JSON form of a stored value: datetimes as `2026-11-21T05:00:00.000+0000`, everything else as stored. */
export function renderFieldValue(field: FieldDefinition, value: FieldValue): FieldValue {
  if (value === null) return null;
  if (field.type === 'datetime' && typeof value === 'number') return formatRestDateTime(value);
  return value;
}

/** A record as `GET /sobjects/X/{id}` returns it: attributes first, then fields in describe order (or those asked for). */
export function renderRecord(type: SObjectType, record: StoredRecord, version: string, fields: readonly FieldDefinition[] = type.fields, apiPrefix = ''): Record<string, unknown> {
  const body: Record<string, unknown> = { attributes: { type: type.name, url: sobjectUrl(version, type.name, record.id, apiPrefix) } };
  for (const field of fields) body[field.name] = renderFieldValue(field, record.values[field.name] ?? null);
  return body;
}
