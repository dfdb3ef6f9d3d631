/*
 * Partner Center paths as mapping files write them: `details.dealValue`, `customerProfile.team[0].email`, and
 * `@microsoft.status` for Microsoft's own referral in the same engagement (the "connected" referral whose status the
 * seller wants to see, which is a different resource from the partner's referral).
 */

export type PcSegment = string | number;

export interface PcPath {
  /** As written in the file, for messages. */
  text: string;
  /** `microsoft` paths read the connected Microsoft referral and can never be written. */
  source: 'referral' | 'microsoft';
  segments: readonly PcSegment[];
}

const KEY = '[A-Za-z_][A-Za-z0-9_]*';
const STEP = `${KEY}(?:\\[\\d+\\])*`;
export const PC_PATH_PATTERN = new RegExp(`^(?:@microsoft\\.)?${STEP}(?:\\.${STEP})*$`);
export const MICROSOFT_PREFIX = '@microsoft.';

/** Assumes the text matched PC_PATH_PATTERN (the mapping schema checks it first). */
export function parsePcPath(text: string): PcPath {
  const source = text.startsWith(MICROSOFT_PREFIX) ? 'microsoft' : 'referral';
  const body = source === 'microsoft' ? text.slice(MICROSOFT_PREFIX.length) : text;
  const segments: PcSegment[] = [];
  for (const step of body.split('.')) {
    const [key = '', ...indexes] = step.split('[');
    segments.push(key);
    for (const index of indexes) segments.push(Number(index.slice(0, -1)));
  }
  return { text, source, segments };
}

export function formatPcPath(segments: readonly PcSegment[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** Reads a value; anything missing on the way (absent key, null parent, short array) reads as undefined. */
export function readAt(root: unknown, segments: readonly PcSegment[]): unknown {
  let node = root;
  for (const segment of segments) {
    if (typeof segment === 'number') {
      if (!Array.isArray(node)) return undefined;
      node = node[segment];
    } else {
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
      node = Object.hasOwn(node, segment) ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return node;
}
