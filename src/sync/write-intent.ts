import type { WriteIntent } from '../store/types.ts';
import { canonicalEquals } from './mapping/canonical.ts';
import type { CanonicalRecord } from '../canonical-value.ts';

/**
 * The base to merge against when the pair's last sync announced writes (a write intent) but never committed: the
 * process died (or a write failed) somewhere between its first write request and its commit.
 *
 * The intent's base is where that sync started from. Each announced value that its target side holds now landed and
 * joins the base; one that is not there did not land (or was overwritten since by someone else), so the merge sees
 * what really changed. A seller who typed the very value we were writing is indistinguishable, and harmless. A create
 * announces its values as the base: the caller found the record, so it was created with exactly those.
 *
 * Without an intent the committed base is returned as it was.
 */
export function baseAfterUnfinishedSync(
  committed: CanonicalRecord | undefined,
  intent: WriteIntent | null,
  current: { pc: CanonicalRecord; crm: CanonicalRecord },
): CanonicalRecord | undefined {
  if (!intent) return committed;
  const recovered: CanonicalRecord = { ...intent.base };
  const landed = (side: CanonicalRecord, announced: CanonicalRecord) => {
    for (const [key, value] of Object.entries(announced)) {
      if (Object.hasOwn(side, key) && canonicalEquals(side[key], value)) recovered[key] = value;
    }
  };
  landed(current.crm, intent.toCrm);
  landed(current.pc, intent.toPc);
  return recovered;
}
