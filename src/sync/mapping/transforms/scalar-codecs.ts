import { unwritable, write, type Reading, type Writing } from '../canonical.ts';
import type { TransformOf } from '../spec-schema.ts';
import type { FieldCodec } from './codec.ts';
import { normalizeBoolean, normalizeDate, normalizeDateTime, normalizeMoney, normalizeNumber, normalizeScalar, normalizeText } from './normalize.ts';
import type { CanonicalValue } from '../../../canonical-value.ts';

/*
 * One-value transforms: both sides normalize the same way, and a write re-normalizes the canonical value first
 * (idempotent), so a caller handing in an unrounded amount still writes the rounded one.
 */

type Normalize = (raw: unknown) => Reading;

function symmetric(normalize: Normalize, format: { pc?: (value: CanonicalValue) => unknown; crm?: (value: CanonicalValue) => unknown } = {}): FieldCodec {
  const emit = (value: CanonicalValue, shape?: (value: CanonicalValue) => unknown): Writing => {
    if (Array.isArray(value)) return unwritable(`a list cannot be written to a single-value field`);
    const reading = normalize(value);
    if (!reading.ok) return unwritable(reading.reason);
    return write(shape && reading.value !== null ? shape(reading.value) : reading.value);
  };
  return {
    fromPc: ([raw]) => normalize(raw),
    fromCrm: ([raw]) => normalize(raw),
    toPc: (value) => emit(value, format.pc),
    toCrm: (value) => emit(value, format.crm),
  };
}

export const noneCodec = (): FieldCodec => symmetric(normalizeScalar);

export const stringCodec = (t: TransformOf<'string'>): FieldCodec =>
  symmetric((raw) => normalizeText(raw, { maxLength: t.maxLength, case: t.case, pattern: t.pattern }));

export const numberCodec = (): FieldCodec => symmetric(normalizeNumber);

export const moneyCodec = (t: TransformOf<'money'>): FieldCodec => symmetric((raw) => normalizeMoney(raw, t.decimals));

export const booleanCodec = (t: TransformOf<'boolean'>): FieldCodec => symmetric((raw) => normalizeBoolean(raw, t.nullAs));

/** Canonical `YYYY-MM-DD`; Partner Center gets midnight UTC of that date, as in its own samples. */
export const dateCodec = (): FieldCodec => symmetric(normalizeDate, { pc: (date) => `${String(date)}T00:00:00Z` });

export const dateTimeCodec = (): FieldCodec => symmetric(normalizeDateTime);

/** How to read a side that should hold a constant's value: by the constant's own type. */
export function normalizerFor(value: unknown): Normalize {
  if (typeof value === 'boolean') return (raw) => normalizeBoolean(raw);
  if (typeof value === 'number') return normalizeNumber;
  return normalizeScalar;
}
