import { z } from 'zod';
import { isPlainObject, type JsonObject } from '../shared/deep-merge.ts';
import { invalidRequest } from './errors.ts';

export const jsonPatchSchema = z.array(
  z.object({
    op: z.string(),
    path: z.string(),
    value: z.unknown().optional(),
    from: z.string().optional(),
  }),
);

export type JsonPatchOperation = z.output<typeof jsonPatchSchema>[number];

export interface PatchRules {
  /** Top-level members the client may not touch (id, eTag, …). */
  readOnly: ReadonlySet<string>;
  /** Every top-level member a referral can have; anything else is a client typo worth a 400. */
  knownTopLevel: ReadonlySet<string>;
}

const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

function parsePointer(pointer: string, index: number): string[] {
  if (!pointer.startsWith('/')) throw invalidRequest(`Operation ${index}: path '${pointer}' must be a JSON pointer starting with '/'.`, `[${index}].path`);
  const segments = pointer.slice(1).split('/').map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (segments.some((segment) => FORBIDDEN_SEGMENTS.has(segment))) throw invalidRequest(`Operation ${index}: path '${pointer}' is not allowed.`, `[${index}].path`);
  return segments;
}

/** ASP.NET's JSON Patch resolves property names case-insensitively; so does the sandbox. */
function resolveKey(container: JsonObject, segment: string, known?: ReadonlySet<string>): string {
  if (Object.hasOwn(container, segment)) return segment;
  const lower = segment.toLowerCase();
  const candidates = known ? [...known] : Object.keys(container);
  return candidates.find((key) => key.toLowerCase() === lower) ?? segment;
}

function arrayIndex(segment: string, length: number, allowEnd: boolean, index: number, pointer: string): number {
  if (segment === '-' && allowEnd) return length;
  if (!/^(0|[1-9]\d*)$/.test(segment)) throw invalidRequest(`Operation ${index}: '${segment}' in '${pointer}' is not an array index.`, `[${index}].path`);
  const position = Number(segment);
  const limit = allowEnd ? length : length - 1;
  if (position > limit) throw invalidRequest(`Operation ${index}: index ${position} in '${pointer}' is out of range.`, `[${index}].path`);
  return position;
}

function applyOne(document: JsonObject, operation: JsonPatchOperation, index: number, rules: PatchRules): void {
  const op = operation.op.toLowerCase();
  if (op !== 'add' && op !== 'replace') {
    throw invalidRequest(`Operation ${index}: '${operation.op}' is not supported; only 'replace' and 'add' are.`, `[${index}].op`);
  }
  if (!('value' in operation) || operation.value === undefined) {
    throw invalidRequest(`Operation ${index}: '${op}' needs a value.`, `[${index}].value`);
  }
  const segments = parsePointer(operation.path, index);
  const [first] = segments;
  if (first === undefined || first === '') throw invalidRequest(`Operation ${index}: the whole referral cannot be replaced; patch its fields.`, `[${index}].path`);
  const topLevel = resolveKey(document, first, rules.knownTopLevel);
  if (rules.readOnly.has(topLevel)) throw invalidRequest(`Operation ${index}: '${topLevel}' is read-only.`, topLevel);
  if (!rules.knownTopLevel.has(topLevel)) throw invalidRequest(`Operation ${index}: the referral has no property '${first}'.`, `[${index}].path`);
  segments[0] = topLevel;

  let container: unknown = document;
  for (let i = 0; i < segments.length - 1; i += 1) {
    const segment = segments[i] as string;
    if (Array.isArray(container)) {
      container = container[arrayIndex(segment, container.length, false, index, operation.path)];
    } else if (isPlainObject(container)) {
      const key = resolveKey(container, segment);
      // A typed object in the service has every member (null when unset), so a path through an unset member works.
      if (!isPlainObject(container[key]) && !Array.isArray(container[key])) {
        const nextSegment = segments[i + 1] ?? '';
        container[key] = nextSegment === '-' || /^\d+$/.test(nextSegment) ? [] : {};
      }
      container = container[key];
    } else {
      throw invalidRequest(`Operation ${index}: '${operation.path}' goes through a value that is not an object.`, `[${index}].path`);
    }
  }
  const last = segments[segments.length - 1] as string;
  const value = structuredClone(operation.value);
  if (Array.isArray(container)) {
    const position = arrayIndex(last, container.length, op === 'add', index, operation.path);
    if (op === 'add') container.splice(position, 0, value);
    else container[position] = value;
    return;
  }
  if (!isPlainObject(container)) throw invalidRequest(`Operation ${index}: '${operation.path}' does not point into an object or array.`, `[${index}].path`);
  // `replace` of an unset member succeeds for the same typed-object reason.
  container[resolveKey(container, last)] = value;
}

/** Applies `add`/`replace` operations to a copy; the original is untouched if any operation fails. */
export function applyJsonPatch(document: JsonObject, operations: readonly JsonPatchOperation[], rules: PatchRules): JsonObject {
  const copy = structuredClone(document);
  operations.forEach((operation, index) => applyOne(copy, operation, index, rules));
  return copy;
}
