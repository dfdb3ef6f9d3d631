/*
 * Field-level change sets → RFC 6902 JSON Patch, the body of PATCH /v1.0/engagements/referrals/{id}.
 * The Referrals API supports only `replace` and `add` ("Update a referral").
 */

export type JsonPatchOp = 'replace' | 'add';

export interface FieldChange {
  /**
   * Segments (`['details', 'dealValue']`), a JSON Pointer (`/details/dealValue`, already escaped) or a dotted path
   * (`details.dealValue`, as in mapping files). A final `-` segment appends to an array (`/team/-`).
   */
  path: readonly string[] | string;
  value: unknown;
  /** Default `replace`; `add` when the path ends in `-`. */
  op?: JsonPatchOp;
}

export interface JsonPatchOperation {
  op: JsonPatchOp;
  path: string;
  value: unknown;
}

export function buildJsonPatch(changes: readonly FieldChange[]): JsonPatchOperation[] {
  return changes.map((change, index) => {
    const segments = toSegments(change.path, index);
    const appends = segments.at(-1) === '-';
    const op = change.op ?? (appends ? 'add' : 'replace');
    if (op !== 'add' && op !== 'replace') throw new TypeError(`change ${index}: unsupported op "${String(op)}" (only add and replace)`);
    if (appends && op !== 'add') throw new TypeError(`change ${index}: appending with "-" needs op "add"`);
    // JSON.stringify would silently drop the value and send an invalid operation.
    if (change.value === undefined) throw new TypeError(`change ${index} (${formatPointer(segments)}): value is undefined; use null to clear a field`);
    return { op, path: formatPointer(segments), value: change.value };
  });
}

/** RFC 6901: `~` → `~0` first, then `/` → `~1`. */
export function escapePointerSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function formatPointer(segments: readonly string[]): string {
  return segments.map((segment) => `/${escapePointerSegment(segment)}`).join('');
}

function toSegments(path: readonly string[] | string, index: number): string[] {
  let segments: string[];
  if (typeof path !== 'string') {
    segments = [...path];
  } else if (path.startsWith('/')) {
    if (/~[^01]|~$/.test(path)) throw new TypeError(`change ${index}: invalid JSON Pointer escape in "${path}"`);
    segments = path
      .slice(1)
      .split('/')
      .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  } else {
    segments = path.split('.');
  }
  // Replacing the whole referral or an unnamed member is never what a field-level change means.
  if (segments.length === 0 || segments.some((segment) => segment === '')) {
    throw new TypeError(`change ${index}: empty path or path segment in ${JSON.stringify(path)}`);
  }
  return segments;
}
