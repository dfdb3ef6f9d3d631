import { expect } from 'vitest';
import { buildJsonPatch, type FieldChange } from '../../../../src/partner-center/json-patch.ts';
import { referralSchema, type Referral } from '../../../../src/partner-center/model.ts';
import { MappingError, parseMappingText, type EntitySpec, type MappingSpec } from '../../../../src/sync/mapping/index.ts';

export const FILE = 'test-mapping.yaml';

export function parseSpec(yaml: string): MappingSpec {
  return parseMappingText(yaml, FILE, 'dynamics');
}

/** An opportunity mapping made of the given field list (YAML, indented as list items under `fields:`). */
export function opportunityWith(fieldsYaml: string): EntitySpec {
  const spec = parseSpec(`crm: dynamics\nprefix: cosell\nentities:\n  opportunity:\n    fields:\n${indent(fieldsYaml, 6)}`);
  const entity = spec.entities.opportunity;
  if (!entity) throw new Error('no opportunity entity');
  return entity;
}

function indent(text: string, spaces: number): string {
  const lines = text.replace(/^\n+|\s+$/g, '').split('\n');
  const margin = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => ' '.repeat(spaces) + l.slice(margin)).join('\n');
}

/** The MappingError a parse throws, for asserting on its path and reason. */
export function loadError(yaml: string): MappingError {
  try {
    parseSpec(yaml);
  } catch (error) {
    expect(error).toBeInstanceOf(MappingError);
    return error as MappingError;
  }
  throw new Error('expected the mapping to be rejected');
}

export function referral(data: Record<string, unknown>): Referral {
  return referralSchema.parse({ id: 'ref-1', ...data });
}

/**
 * Applies JSON Patch with RFC 6902's strict rules (replace needs the target, add needs the parent), so a test fails
 * if we ever choose an op the service could refuse.
 */
export function applyStrictPatch<T>(document: T, changes: readonly FieldChange[]): T {
  const out = structuredClone(document) as unknown;
  for (const operation of buildJsonPatch(changes)) {
    const segments = operation.path.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = segments.pop() as string;
    let parent: unknown = out;
    for (const segment of segments) {
      if (typeof parent !== 'object' || parent === null) throw new Error(`${operation.path}: missing parent`);
      parent = (parent as Record<string, unknown>)[segment];
    }
    if (typeof parent !== 'object' || parent === null) throw new Error(`${operation.path}: missing parent`);
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (operation.op === 'replace') {
        if (index >= parent.length) throw new Error(`${operation.path}: replace of a missing element`);
        parent[index] = operation.value;
      } else {
        if (index > parent.length) throw new Error(`${operation.path}: add beyond the end`);
        parent.splice(index, 0, operation.value);
      }
      continue;
    }
    const record = parent as Record<string, unknown>;
    if (operation.op === 'replace' && !Object.hasOwn(record, last)) throw new Error(`${operation.path}: replace of a missing member`);
    record[last] = operation.value;
  }
  return out as T;
}
