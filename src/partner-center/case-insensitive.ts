import { isDeepStrictEqual } from 'node:util';

/*
 * Partner Center webhook bodies are PascalCase in the docs and camelCase in the Swagger, and real traffic has both.
 * We therefore match keys ignoring case and hand the rest of the code one canonical spelling.
 */

export interface CanonicalizedKeys {
  value: Record<string, unknown>;
  /** Canonical keys that arrived more than once (e.g. `EventName` and `eventName`) with different values. */
  conflicts: string[];
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Renames every key that matches one of `canonical` ignoring case to that canonical spelling; other keys are kept
 * unchanged so nothing the service sent is lost.
 */
export function canonicalizeKeys(source: Record<string, unknown>, canonical: readonly string[]): CanonicalizedKeys {
  const byLowerCase = new Map(canonical.map((key) => [key.toLowerCase(), key]));
  const value: Record<string, unknown> = {};
  const conflicts: string[] = [];
  for (const [key, entry] of Object.entries(source)) {
    const target = byLowerCase.get(key.toLowerCase()) ?? key;
    if (Object.hasOwn(value, target)) {
      if (!isDeepStrictEqual(value[target], entry) && !conflicts.includes(target)) conflicts.push(target);
      continue;
    }
    value[target] = entry;
  }
  return { value, conflicts };
}
