import type { FieldChange } from '../../partner-center/json-patch.ts';
import { formatPcPath, type PcSegment } from './pc-path.ts';

/*
 * Turning "set this path to this value" into JSON Patch the Referrals API accepts (only `replace` and `add`, Partner
 * Center "Update a referral").
 *
 * RFC 6902 `replace` needs the target to exist and `add` needs its parent to exist, so with the current referral at
 * hand each change gets the op that is valid for it:
 *   - the member exists (even as null)       → `replace` (the documented form, e.g. /details/dealValue);
 *   - it is missing but its parent exists    → `add`;
 *   - a parent is missing or null            → one `add`/`replace` of the first missing ancestor carrying a built
 *                                              object, shared by every change under it (two separate `add /details`
 *                                              would overwrite each other);
 *   - an array index one past the end        → `add` at that index (an append); further past → not writable.
 * Without the current referral nothing is known, so every change is a `replace`: responses carry their members (null
 * when empty), and `replace` is the op Microsoft's own samples use. Callers should pass the referral they just read.
 */

export interface PcWrite {
  segments: readonly PcSegment[];
  value: unknown;
  /** The mapping field the write comes from, carried into rejections for the audit. */
  key?: string;
}

export interface PatchPlan {
  changes: FieldChange[];
  /** Writes that cannot be expressed (an index beyond the end of a list), with the reason. */
  rejected: Array<{ key: string | undefined; path: string; reason: string }>;
}

type Node = Record<string, unknown> | unknown[];

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null;
}

function memberOf(node: Node, segment: PcSegment): { exists: boolean; value: unknown } {
  if (Array.isArray(node)) {
    return typeof segment === 'number' && segment < node.length ? { exists: true, value: node[segment] } : { exists: false, value: undefined };
  }
  if (typeof segment === 'number') return { exists: false, value: undefined };
  return Object.hasOwn(node, segment) ? { exists: true, value: node[segment] } : { exists: false, value: undefined };
}

/** A fresh container for the remaining segments: `[0]` starts a list, a key an object. */
function build(rest: readonly PcSegment[], value: unknown): unknown {
  if (rest.length === 0) return value;
  const [head, ...tail] = rest;
  return typeof head === 'number' ? [build(tail, value)] : { [head as string]: build(tail, value) };
}

function deepMerge(into: unknown, from: unknown): unknown {
  if (Array.isArray(into) && Array.isArray(from)) return into.map((item, i) => (i < from.length ? deepMerge(item, from[i]) : item));
  if (isNode(into) && isNode(from) && !Array.isArray(into) && !Array.isArray(from)) {
    const out: Record<string, unknown> = { ...into };
    for (const [key, value] of Object.entries(from)) out[key] = key in out ? deepMerge(out[key], value) : value;
    return out;
  }
  return from;
}

export function planReferralPatch(writes: readonly PcWrite[], current?: unknown): PatchPlan {
  if (current === undefined) {
    return { changes: writes.map((w) => ({ path: w.segments.map(String), value: w.value, op: 'replace' as const })), rejected: [] };
  }
  const planned = new Map<string, { segments: string[]; value: unknown; op: 'add' | 'replace'; built: boolean }>();
  const rejected: PatchPlan['rejected'] = [];
  for (const w of writes) {
    let node: unknown = current;
    for (const [index, segment] of w.segments.entries()) {
      if (!isNode(node)) break;
      const member = memberOf(node, segment);
      const last = index === w.segments.length - 1;
      if (typeof segment === 'number' && !member.exists && Array.isArray(node) && segment > node.length) {
        rejected.push({ key: w.key, path: formatPcPath(w.segments), reason: `${formatPcPath(w.segments.slice(0, index))} has ${node.length} element(s); cannot write element ${segment}` });
        break;
      }
      if (last || !isNode(member.value)) {
        const segments = w.segments.slice(0, index + 1).map(String);
        const key = segments.join('/');
        const value = build(w.segments.slice(index + 1), w.value);
        const earlier = planned.get(key);
        const built = !last;
        planned.set(key, {
          segments,
          value: earlier?.built && built ? deepMerge(earlier.value, value) : value,
          op: member.exists ? 'replace' : 'add',
          built,
        });
        break;
      }
      node = member.value;
    }
  }
  return { changes: [...planned.values()].map(({ segments, value, op }) => ({ path: segments, value, op })), rejected };
}
