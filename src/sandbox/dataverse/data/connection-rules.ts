import { badRequest, ErrorCode } from '../errors.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import { isEntityReference, type RecordValues } from './record.ts';
import type { RecordStore } from './record-store.ts';

/**
 * Columns a reciprocal connection mirrors from its master, with the sides swapped ("Connection entities", Developer
 * Guide for Dynamics 365 Customer Engagement: each connection has a reciprocal with record1 and record2 reversed).
 */
const SWAPPED: Array<[string, string]> = [
  ['record1id', 'record2id'],
  ['record2id', 'record1id'],
  ['record1roleid', 'record2roleid'],
  ['record2roleid', 'record1roleid'],
];
const COPIED = ['description', 'effectivestart', 'effectiveend', 'statecode', 'statuscode'];

/** The reciprocal's view of the columns a write set: sides swapped, the rest copied. */
export function reciprocalValues(values: RecordValues, sent: readonly string[]): { values: RecordValues; sent: string[] } {
  const out: RecordValues = {};
  const outSent: string[] = [];
  for (const [from, to] of SWAPPED) {
    if (!sent.includes(from)) continue;
    out[to] = values[from] ?? null;
    outSent.push(to);
  }
  for (const name of COPIED) {
    if (!sent.includes(name)) continue;
    out[name] = values[name] ?? null;
    outSent.push(name);
  }
  return { values: out, sent: outSent };
}

/**
 * Derived columns of a connection row: both ends are required (Dataverse connection table reference: record1id and
 * record2id are required to create a connection; the exact error code is UNCONFIRMED), the type codes follow the ends,
 * and the name is the "connected to" row's primary name.
 */
export function deriveConnectionColumns(registry: MetadataRegistry, store: RecordStore, values: RecordValues): void {
  for (const side of ['record1id', 'record2id'] as const) {
    const reference = values[side];
    if (!isEntityReference(reference)) {
      throw badRequest(`A connection needs both ends: set ${side === 'record1id' ? 'record1id' : 'record2id'} with '${side}_<table>@odata.bind'.`, ErrorCode.InvalidArgument);
    }
    const entity = registry.requireEntity(reference.logicalName);
    values[side === 'record1id' ? 'record1objecttypecode' : 'record2objecttypecode'] = entity.objectTypeCode;
  }
  const target = values.record2id;
  if (isEntityReference(target)) {
    const entity = registry.requireEntity(target.logicalName);
    const row = store.get(entity.logicalName, target.id);
    const name = entity.primaryNameAttribute ? row?.values[entity.primaryNameAttribute] : undefined;
    values.name = typeof name === 'string' ? name : null;
  }
}
