import type { HeldConflict } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import type { MergeResult } from '../merge/index.ts';
import { canonicalEquals } from '../mapping/canonical.ts';

/**
 * An operator's choice for a held field (cosell conflicts resolve) overrides the merge: the value goes to whichever
 * side does not hold it yet, becomes the base, and the hold is released by this sync's commit. Changes `result` in
 * place and returns, per field, how it was chosen (for the audit).
 */
export function applyResolutions(input: { result: MergeResult; held: readonly HeldConflict[]; pc: CanonicalRecord; crm: CanonicalRecord }): Map<string, string> {
  const { result, pc, crm } = input;
  const resolved = new Map<string, string>();
  for (const conflict of input.held) {
    if (!conflict.resolution) continue;
    const key = conflict.field;
    const { value, take } = conflict.resolution;
    result.held = result.held.filter((k) => k !== key);
    result.conflicts = result.conflicts.filter((c) => c.key !== key);
    delete result.toCrm[key];
    delete result.toPc[key];
    if (!canonicalEquals(crm[key] ?? null, value)) result.toCrm[key] = value;
    if (!canonicalEquals(pc[key] ?? null, value)) result.toPc[key] = value;
    result.nextBase[key] = value;
    resolved.set(key, take === 'partner-center' ? "took Partner Center's value" : take === 'crm' ? "took the CRM's value" : 'took the value given');
  }
  return resolved;
}
