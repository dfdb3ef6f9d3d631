import { badRequest, ErrorCode, odataError } from '../errors.ts';
import type { AttributeDefinition } from '../metadata/attribute-model.ts';
import type { StoredValue } from './record.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

export function normalizeGuid(value: string): string {
  return value.replace(/^\{|\}$/g, '').toLowerCase();
}

function cannotConvert(raw: unknown, edmType: string): never {
  throw odataError(`Cannot convert the literal '${String(typeof raw === 'object' ? JSON.stringify(raw) : raw)}' to the expected type '${edmType}'.`);
}

/** Parses an ISO date or date-time; returns null when it is not one or names an impossible day. */
export function parseIsoInstant(value: string): Date | null {
  if (!DATE_ONLY.test(value) && !DATE_TIME.test(value)) return null;
  const date = new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) return null;
  // `new Date('2026-02-31')` rolls over to March; a real server rejects it.
  if (date.toISOString().slice(0, 10) !== value.slice(0, 10) && !/[+-]\d{2}:\d{2}$/.test(value)) return null;
  return date;
}

function parseDateValue(attribute: AttributeDefinition, raw: unknown): string {
  if (typeof raw !== 'string') cannotConvert(raw, attribute.format === 'DateOnly' ? 'Edm.Date' : 'Edm.DateTimeOffset');
  const instant = parseIsoInstant(raw);
  if (!instant) cannotConvert(raw, attribute.format === 'DateOnly' ? 'Edm.Date' : 'Edm.DateTimeOffset');
  // DateOnly columns keep the calendar date; a date-time sent to one is accepted and truncated (tolerant choice).
  if (attribute.format === 'DateOnly') return DATE_ONLY.test(raw) ? raw : instant.toISOString().slice(0, 10);
  return `${instant.toISOString().slice(0, 19)}Z`;
}

function parseNumber(attribute: AttributeDefinition, raw: unknown, edmType: string): number {
  // Numeric strings are what OData clients send under IEEE754Compatible=true; accepting them is the tolerant choice.
  const value = typeof raw === 'string' && raw.trim() !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value)) cannotConvert(raw, edmType);
  const { minValue, maxValue } = attribute;
  if ((minValue !== undefined && value < minValue) || (maxValue !== undefined && value > maxValue)) {
    throw badRequest(
      `A validation error occurred. The value ${value} of '${attribute.logicalName}' is outside the valid range. Accepted Values: ${minValue} to ${maxValue}`,
      ErrorCode.IntegerOutOfRange,
    );
  }
  return value;
}

function checkOption(attribute: AttributeDefinition, entity: string, value: number): number {
  if (!attribute.options?.some((option) => option.value === value)) {
    const accepted = (attribute.options ?? []).map((option) => option.value).join(',');
    throw badRequest(
      `A validation error occurred. The value ${value} of '${attribute.logicalName}' on record of type '${entity}' is outside the valid range. Accepted Values: ${accepted}`,
      ErrorCode.OptionValueOutOfRange,
    );
  }
  return value;
}

/** Converts one column value from a request body to its stored form, validating it like the platform does. */
export function parseInputValue(entity: string, attribute: AttributeDefinition, raw: unknown): StoredValue {
  if (raw === null) return null;
  switch (attribute.kind) {
    case 'String':
    case 'Memo':
    case 'EntityName': {
      if (typeof raw !== 'string') cannotConvert(raw, 'Edm.String');
      if (attribute.maxLength !== undefined && raw.length > attribute.maxLength) {
        throw badRequest(
          `A validation error occurred.  The length of the '${attribute.logicalName}' attribute of the '${entity}' entity exceeded the maximum allowed length of '${attribute.maxLength}'.`,
          ErrorCode.StringTooLong,
        );
      }
      return raw;
    }
    case 'Uniqueidentifier': {
      if (typeof raw !== 'string' || !isGuid(normalizeGuid(raw))) cannotConvert(raw, 'Edm.Guid');
      return normalizeGuid(raw);
    }
    case 'Integer':
    case 'BigInt': {
      const value = parseNumber(attribute, raw, attribute.kind === 'BigInt' ? 'Edm.Int64' : 'Edm.Int32');
      if (!Number.isInteger(value)) cannotConvert(raw, 'Edm.Int32');
      return value;
    }
    case 'Decimal':
    case 'Money':
      return parseNumber(attribute, raw, 'Edm.Decimal');
    case 'Double':
      return parseNumber(attribute, raw, 'Edm.Double');
    case 'Boolean':
      if (typeof raw !== 'boolean') cannotConvert(raw, 'Edm.Boolean');
      return raw;
    case 'DateTime':
      return parseDateValue(attribute, raw);
    case 'Picklist':
    case 'State':
    case 'Status':
      if (typeof raw !== 'number' || !Number.isInteger(raw)) cannotConvert(raw, 'Edm.Int32');
      return checkOption(attribute, entity, raw);
    case 'MultiSelectPicklist': {
      // The documented wire form is a comma-separated string ("Create and update column definitions using the Web API",
      // UNCONFIRMED); an array of numbers is also accepted.
      const items = typeof raw === 'string' ? (raw.trim() === '' ? [] : raw.split(',')) : Array.isArray(raw) ? raw : cannotConvert(raw, 'Edm.String');
      const values = items.map((item: unknown) => {
        const number = typeof item === 'number' ? item : Number(String(item).trim());
        if (!Number.isInteger(number)) cannotConvert(raw, 'Edm.String');
        return checkOption(attribute, entity, number);
      });
      return values.length === 0 ? null : [...new Set(values)];
    }
    case 'Lookup':
    case 'Customer':
    case 'Owner':
      throw badRequest('CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.', ErrorCode.EntityReferenceWrite);
  }
}

/** The JSON value of a (non-lookup) column as the Web API returns it. */
export function toWireValue(attribute: AttributeDefinition, value: StoredValue | undefined): unknown {
  if (value === undefined || value === null || !attribute.validForRead) return null;
  if (attribute.kind === 'MultiSelectPicklist' && Array.isArray(value)) return value.join(',');
  return value;
}
