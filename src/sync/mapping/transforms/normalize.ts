import { describeValue, read, unreadable, type Reading } from '../canonical.ts';

/*
 * Value normalizers shared by both directions: what a value *means*, independent of which side sent it, so that
 * `" Contoso "` and `"Contoso"`, `50000` and `"50000.00"`, `2026-03-01T00:00:00Z` and `2026-03-01` compare equal.
 */

export interface TextOptions {
  maxLength?: number;
  case?: 'upper' | 'lower';
  pattern?: string;
}

export function normalizeText(raw: unknown, options: TextOptions = {}): Reading {
  if (raw === null || raw === undefined) return read(null);
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' || typeof raw === 'boolean') text = String(raw);
  else return unreadable(`expected text, got ${describeValue(raw)}`);
  text = text.trim();
  if (options.case === 'upper') text = text.toUpperCase();
  if (options.case === 'lower') text = text.toLowerCase();
  // Truncating here (not only when writing) makes a long PC value equal to the CRM's truncated copy: no endless diff.
  if (options.maxLength !== undefined && text.length > options.maxLength) text = text.slice(0, options.maxLength).trimEnd();
  if (text === '') return read(null);
  if (options.pattern !== undefined && !new RegExp(options.pattern).test(text)) {
    return unreadable(`${describeValue(text)} does not match ${options.pattern}`);
  }
  return read(text);
}

const NUMERIC = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

export function normalizeNumber(raw: unknown): Reading {
  if (raw === null || raw === undefined) return read(null);
  if (typeof raw === 'number') return Number.isFinite(raw) ? read(raw === 0 ? 0 : raw) : unreadable(`${raw} is not a finite number`);
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (text === '') return read(null);
    // Partner Center's own PATCH sample sends "10000": numeric strings are numbers.
    if (NUMERIC.test(text)) return normalizeNumber(Number(text));
  }
  return unreadable(`expected a number, got ${describeValue(raw)}`);
}

export function normalizeMoney(raw: unknown, decimals: number): Reading {
  const reading = normalizeNumber(raw);
  if (!reading.ok || reading.value === null) return reading;
  return read(roundTo(reading.value as number, decimals));
}

/** Decimal rounding via the exponent form, so 1.005 rounds to 1.01 rather than to the binary neighbour 1.00. */
export function roundTo(value: number, decimals: number): number {
  const shifted = String(value).includes('e') ? Math.round(value * 10 ** decimals) : Math.round(Number(`${value}e${decimals}`));
  const result = String(shifted).includes('e') ? shifted / 10 ** decimals : Number(`${shifted}e-${decimals}`);
  return result === 0 ? 0 : result;
}

export function normalizeBoolean(raw: unknown, nullAs?: boolean): Reading {
  if (raw === null || raw === undefined || raw === '') return read(nullAs ?? null);
  if (typeof raw === 'boolean') return read(raw);
  if (raw === 1 || raw === 0) return read(raw === 1);
  if (typeof raw === 'string') {
    const text = raw.trim().toLowerCase();
    if (text === 'true' || text === '1') return read(true);
    if (text === 'false' || text === '0') return read(false);
  }
  return unreadable(`expected true or false, got ${describeValue(raw)}`);
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_TIMESTAMP = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** `YYYY-MM-DD`; an instant becomes its UTC calendar date (Partner Center sends UTC date-times). */
export function normalizeDate(raw: unknown): Reading {
  if (raw === null || raw === undefined || raw === '') return read(null);
  if (typeof raw !== 'string') return unreadable(`expected a date, got ${describeValue(raw)}`);
  const text = raw.trim();
  const dateOnly = DATE_ONLY.exec(text);
  if (dateOnly) {
    const [, y, m, d] = dateOnly;
    const date = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
    return date.toISOString().slice(0, 10) === text ? read(text) : unreadable(`${text} is not a calendar date`);
  }
  const instant = parseInstant(text);
  return instant === undefined ? unreadable(`${describeValue(text)} is not a date`) : read(instant.toISOString().slice(0, 10));
}

/** A full ISO instant in UTC with milliseconds, whatever offset or precision the side used. */
export function normalizeDateTime(raw: unknown): Reading {
  if (raw === null || raw === undefined || raw === '') return read(null);
  if (typeof raw !== 'string') return unreadable(`expected a date-time, got ${describeValue(raw)}`);
  const instant = parseInstant(raw.trim());
  return instant === undefined ? unreadable(`${describeValue(raw)} is not a date-time`) : read(instant.toISOString());
}

function parseInstant(text: string): Date | undefined {
  // A timestamp without an offset would be read as local time by Date; both APIs mean UTC.
  const withZone = LOCAL_TIMESTAMP.test(text) ? `${text}Z` : DATE_ONLY.test(text) ? `${text}T00:00:00Z` : text;
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** `none`: the value as it is, only cleaned (trimmed text, `null` for empty); objects and lists are not scalars. */
export function normalizeScalar(raw: unknown): Reading {
  if (typeof raw === 'number') return normalizeNumber(raw);
  if (typeof raw === 'boolean') return read(raw);
  return normalizeText(raw);
}
