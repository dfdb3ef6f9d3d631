import { parseInstant, type Instant } from '../../../util/instant.ts';

/*
 * A listing compares every visible referral's `updatedDateTime` (its filter) and sorts by it, page after page: a
 * backfill of 10,000 referrals listed 100 at a time parsed the same strings two million times. The parsed instants
 * are kept by their text; bounded, and simply emptied when full (the next page refills what it needs).
 */

const MAX_ENTRIES = 100_000;
const parsed = new Map<string, Instant | undefined>();

export function cachedInstant(text: string): Instant | undefined {
  if (parsed.has(text)) return parsed.get(text);
  if (parsed.size >= MAX_ENTRIES) parsed.clear();
  const instant = parseInstant(text);
  parsed.set(text, instant);
  return instant;
}
