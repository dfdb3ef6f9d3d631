import type { CanonicalValue } from '../../canonical-value.ts';

export function canonicalEquals(a: CanonicalValue | undefined, b: CanonicalValue | undefined): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    // Multi-selects are sets: producers sort them, but a hand-built record should not look changed because of order.
    const left = [...a].sort();
    const right = [...b].sort();
    return left.every((item, index) => item === right[index]);
  }
  return a === b;
}

/** The outcome of reading one side's value into canonical form. */
export type Reading = { ok: true; value: CanonicalValue } | { ok: false; reason: string };

/** The outcome of turning a canonical value into one side's values (one per PC path or CRM column). */
export type Writing = { ok: true; values: unknown[] } | { ok: false; reason: string };

export const read = (value: CanonicalValue): Reading => ({ ok: true, value });
export const unreadable = (reason: string): Reading => ({ ok: false, reason });
export const write = (...values: unknown[]): Writing => ({ ok: true, values });
export const unwritable = (reason: string): Writing => ({ ok: false, reason });

/** For messages: short, one line, never the whole of a long note. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
