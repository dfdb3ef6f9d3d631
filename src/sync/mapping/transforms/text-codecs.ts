import { describeValue, read, unwritable, write, type Reading } from '../canonical.ts';
import type { Scalar, TransformOf } from '../spec-schema.ts';
import { parseTemplate } from '../template-text.ts';
import { isLookupReference, type FieldCodec, type LookupReference } from './codec.ts';
import { normalizeScalar, normalizeText } from './normalize.ts';
import { normalizerFor } from './scalar-codecs.ts';
import type { CanonicalValue } from '../../../canonical-value.ts';

const neverToPc = (what: string) => () => unwritable(`${what} only flows to the CRM`);
const neverToCrm = (what: string) => () => unwritable(`${what} only flows to Partner Center`);

function textOf(raw: unknown): string | null {
  const reading = normalizeScalar(raw);
  return reading.ok && reading.value !== null && !Array.isArray(reading.value) ? String(reading.value) : null;
}

/** to-crm only. Missing values render as empty; a template whose placeholders are all empty is `null`, not its punctuation. */
export function templateCodec(t: TransformOf<'template'>, paths: readonly string[]): FieldCodec {
  const parsed = parseTemplate(t.template);
  const parts = parsed.ok ? parsed.parts : [{ literal: t.template }];
  return {
    fromPc: (values) => {
      const byPath = new Map(paths.map((path, i) => [path, textOf(values[i])]));
      if (paths.length > 0 && [...byPath.values()].every((v) => v === null)) return read(null);
      return normalizeText(parts.map((part) => ('literal' in part ? part.literal : (byPath.get(part.path) ?? ''))).join(''));
    },
    fromCrm: ([raw]) => normalizeText(raw),
    toPc: neverToPc('a template'),
    toCrm: (value) => write(value),
  };
}

/** Splits into exactly `count` parts, filling from the left; the last part keeps any further separators. */
function splitInto(text: string, separator: string, count: number): Array<string | null> {
  const pieces = text.split(separator);
  const head = pieces.slice(0, count - 1);
  const tail = pieces.slice(count - 1).join(separator);
  const parts = [...head, ...(pieces.length >= count ? [tail] : [])].map((p) => (p.trim() === '' ? null : p.trim()));
  while (parts.length < count) parts.push(null);
  return parts;
}

function joinParts(values: readonly unknown[], separator: string): Reading {
  const parts = values.map(textOf).filter((p): p is string => p !== null);
  return read(parts.length === 0 ? null : parts.join(separator));
}

function asText(value: CanonicalValue): string | null | undefined {
  if (value === null) return null;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Several PC paths ⇄ one CRM column (first + last name ⇄ full name). Lossy by nature: empty parts are skipped when
 * joining, so splitting back can shift a part; splitting fills from the left.
 */
export function joinCodec(t: TransformOf<'join'>, pcCount: number): FieldCodec {
  return {
    fromPc: (values) => joinParts(values, t.separator),
    fromCrm: ([raw]) => normalizeText(raw),
    toPc: (value) => {
      const text = asText(value);
      if (text === undefined) return unwritable(`expected text, got ${describeValue(value)}`);
      return write(...(text === null ? Array<null>(pcCount).fill(null) : splitInto(text, t.separator, pcCount)));
    },
    toCrm: (value) => write(value),
  };
}

/** One PC path ⇄ several CRM columns; the mirror image of join. */
export function splitCodec(t: TransformOf<'split'>, crmCount: number): FieldCodec {
  return {
    fromPc: ([raw]) => normalizeText(raw),
    fromCrm: (values) => joinParts(values, t.separator),
    toPc: (value) => write(value),
    toCrm: (value) => {
      const text = asText(value);
      if (text === undefined) return unwritable(`expected text, got ${describeValue(value)}`);
      return write(...(text === null ? Array<null>(crmCount).fill(null) : splitInto(text, t.separator, crmCount)));
    },
  };
}

/** Canonical is the code (`USD`); the CRM side gets a LookupReference for the connector to resolve. */
export function lookupCodec(t: TransformOf<'lookup'>): FieldCodec {
  const normalize = (raw: unknown) => normalizeText(raw, { case: t.case });
  return {
    fromPc: ([raw]) => normalize(raw),
    fromCrm: ([raw]) => normalize(isLookupReference(raw) ? raw.value : raw),
    toPc: (value) => write(value),
    toCrm: (value) => {
      const text = asText(value);
      if (text === undefined) return unwritable(`expected a code, got ${describeValue(value)}`);
      if (text === null) return write(null);
      const reference: LookupReference = { kind: 'lookup', entity: t.entity, by: t.by, value: text };
      return write(reference);
    },
  };
}

/**
 * A fixed value on one side. The other side is read like a column of the constant's type, so a hand edit shows as a
 * difference (and `on: always` corrects it; `on: create` only applies when a pair is first linked).
 */
export function constantCodec(t: TransformOf<'constant'>, toCrm: boolean): FieldCodec {
  const normalize = normalizerFor(t.value);
  const fixed = (): Reading => normalize(t.value as Scalar);
  return toCrm
    ? { fromPc: fixed, fromCrm: ([raw]) => normalize(raw), toPc: neverToPc('a to-crm constant'), toCrm: (value) => write(value) }
    : { fromPc: ([raw]) => normalize(raw), fromCrm: fixed, toPc: (value) => write(value), toCrm: neverToCrm('a to-pc constant') };
}
