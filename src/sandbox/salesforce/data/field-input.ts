import type { SalesforceError } from '../errors.ts';
import { badRequest, ErrorCode } from '../errors.ts';
import type { FieldDefinition, FieldValue } from '../schema/field-model.ts';
import { parseDateOnly, parseDateTime } from './wire-dates.ts';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function jsonToken(raw: unknown): string {
  if (Array.isArray(raw)) return 'START_ARRAY';
  if (typeof raw === 'object' && raw !== null) return 'START_OBJECT';
  if (typeof raw === 'string') return 'VALUE_STRING';
  if (typeof raw === 'number') return Number.isInteger(raw) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
  return typeof raw === 'boolean' ? `VALUE_${String(raw).toUpperCase()}` : 'VALUE_NULL';
}

/** Salesforce's Jackson-flavoured wording for a value of the wrong JSON type, which clients see verbatim. */
function cannotDeserialize(definition: FieldDefinition, raw: unknown): SalesforceError {
  const shown = typeof raw === 'object' && raw !== null ? (Array.isArray(raw) ? '[' : '{') : String(raw);
  return badRequest(
    ErrorCode.JsonParserError,
    `Cannot deserialize instance of ${definition.type} from ${jsonToken(raw)} value ${shown} or request may be missing a required field`,
    [definition.name],
  );
}

function coerceText(definition: FieldDefinition, raw: unknown): string | null {
  if (typeof raw === 'number' || typeof raw === 'boolean') raw = String(raw);
  if (typeof raw !== 'string') throw cannotDeserialize(definition, raw);
  // Salesforce stores an empty string in a text field as null.
  if (raw === '') return null;
  if (definition.length > 0 && raw.length > definition.length) {
    const shown = raw.length > 50 ? `${raw.slice(0, 50)}...` : raw;
    throw badRequest(ErrorCode.StringTooLong, `${definition.label}: data value too large: ${shown} (max length=${definition.length})`, [definition.name]);
  }
  return raw;
}

function restrictedPicklistError(definition: FieldDefinition, value: string): SalesforceError {
  return badRequest(ErrorCode.InvalidOrNullForRestrictedPicklist, `${definition.label}: bad value for restricted picklist field: ${value}`, [definition.name]);
}

/** Matches case-insensitively and stores the picklist's own spelling, as the platform does. */
function coercePicklistValue(definition: FieldDefinition, value: string): string {
  const entry = definition.picklistValues.find((candidate) => candidate.value.toLowerCase() === value.toLowerCase());
  if (entry && (entry.active || !definition.restrictedPicklist)) return entry.value;
  if (definition.restrictedPicklist) throw restrictedPicklistError(definition, value);
  return value;
}

function roundHalfUp(magnitude: number, scale: number): number {
  const text = String(magnitude);
  if (text.includes('e')) return Math.round(magnitude * 10 ** scale) / 10 ** scale;
  return Number(`${Math.round(Number(`${text}e${scale}`))}e-${scale}`);
}

function coerceNumber(definition: FieldDefinition, raw: unknown): number | null {
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && raw.trim() !== '' && Number.isFinite(Number(raw))) value = Number(raw);
  else throw cannotDeserialize(definition, raw);
  if (!Number.isFinite(value)) throw cannotDeserialize(definition, raw);
  // Salesforce rounds half up (away from zero) to the field's scale rather than rejecting extra decimals. Shifting the
  // decimal point in the exponent avoids binary artefacts (75000.555 * 100 is 7500055.499…).
  const rounded = Math.sign(value) * roundHalfUp(Math.abs(value), definition.scale);
  const integerDigits = Math.max(0, definition.precision - definition.scale);
  const outOfRange = Math.abs(rounded) >= 10 ** integerDigits || (definition.type === 'percent' && definition.name === 'Probability' && (rounded < 0 || rounded > 100));
  if (outOfRange) {
    throw badRequest(ErrorCode.NumberOutsideValidRange, `${definition.label}: value outside of valid range on numeric field: ${String(raw)}`, [definition.name]);
  }
  return rounded;
}

/**
 * Converts one JSON value from a request body into the stored form for its field, or throws the error Salesforce gives
 * for it. References are only checked for shape here; existence is the record service's business.
 */
export function coerceFieldValue(definition: FieldDefinition, raw: unknown): FieldValue {
  if (raw === null || raw === undefined) return definition.type === 'boolean' ? false : null;
  switch (definition.type) {
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw cannotDeserialize(definition, raw);
    }
    case 'currency':
    case 'double':
    case 'percent':
    case 'int':
      return coerceNumber(definition, raw);
    case 'date': {
      if (typeof raw !== 'string') throw cannotDeserialize(definition, raw);
      // A datetime sent to a date field keeps its date part (tolerant: strict parsers reject it, Salesforce accepts it).
      const date = parseDateOnly(raw) ?? (parseDateTime(raw) !== undefined ? raw.slice(0, 10) : undefined);
      if (date === undefined) throw cannotDeserialize(definition, raw);
      return date;
    }
    case 'datetime': {
      if (typeof raw !== 'string') throw cannotDeserialize(definition, raw);
      const instant = parseDateTime(raw);
      if (instant === undefined) throw cannotDeserialize(definition, raw);
      return instant;
    }
    case 'picklist': {
      const text = coerceText(definition, raw);
      return text === null ? null : coercePicklistValue(definition, text);
    }
    case 'multipicklist': {
      const text = coerceText(definition, raw);
      if (text === null) return null;
      const values = text.split(';').map((part) => part.trim()).filter((part) => part !== '');
      return values.map((value) => coercePicklistValue(definition, value)).join(';') || null;
    }
    case 'email': {
      const text = coerceText(definition, raw);
      if (text !== null && !EMAIL.test(text)) throw badRequest(ErrorCode.InvalidEmailAddress, `${definition.label}: invalid email address: ${text}`, [definition.name]);
      return text;
    }
    default:
      return coerceText(definition, raw);
  }
}

/** Values compare like the platform compares them for uniqueness: text case-insensitively unless case-sensitive. */
export function uniquenessKey(definition: FieldDefinition, value: FieldValue): string | undefined {
  if (value === null) return undefined;
  const text = String(value);
  return definition.caseSensitive ? text : text.toLowerCase();
}
