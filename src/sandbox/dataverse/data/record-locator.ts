import { badRequest, duplicateRecord, ErrorCode, odataError } from '../errors.ts';
import { isLookup, type AttributeDefinition } from '../metadata/attribute-model.ts';
import type { EntityDefinition, KeyDefinition } from '../metadata/entity-model.ts';
import { formatKeyLiteral, type KeyLiteral, type KeyPredicate } from '../odata/resource-path.ts';
import { isEntityReference, type RecordValues, type StoredRecord, type StoredValue } from './record.ts';
import type { RecordStore } from './record-store.ts';
import { isGuid, normalizeGuid, parseInputValue } from './value-codec.ts';

export type ResolvedKey = { kind: 'id'; id: string } | { kind: 'alternate'; key: KeyDefinition; values: RecordValues; text: string };

function keyValueToStored(entity: EntityDefinition, attribute: AttributeDefinition, literal: KeyLiteral): StoredValue {
  if (isLookup(attribute)) {
    if (typeof literal !== 'string' || !isGuid(literal)) throw odataError(`The key value for '${attribute.logicalName}' must be a GUID.`);
    const target = attribute.targets?.[0]?.entity ?? '';
    return { id: normalizeGuid(literal), logicalName: target };
  }
  return parseInputValue(entity.logicalName, attribute, literal);
}

/** Unique indexes in SQL Server use a case-insensitive collation, so `'ABC'` and `'abc'` collide. */
export function keyValuesEqual(a: StoredValue | undefined, b: StoredValue | undefined): boolean {
  if (isEntityReference(a) && isEntityReference(b)) return a.id === b.id;
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  return (a ?? null) === (b ?? null);
}

/**
 * Finds rows by primary key or alternate key ("Work with alternate keys"), and enforces alternate-key uniqueness on
 * writes.
 */
export class RecordLocator {
  constructor(private readonly store: RecordStore) {}

  resolveKey(entity: EntityDefinition, predicate: KeyPredicate): ResolvedKey {
    if (predicate.kind === 'id') return predicate;
    const names = [...predicate.values.keys()];
    const primary = predicate.values.get(entity.primaryIdAttribute);
    if (names.length === 1 && typeof primary === 'string' && isGuid(primary)) return { kind: 'id', id: normalizeGuid(primary) };
    const wanted = new Set(names.map((name) => name.toLowerCase()));
    const key = entity.keys.find((candidate) => candidate.keyAttributes.length === wanted.size && candidate.keyAttributes.every((name) => wanted.has(name)));
    const text = names.map((name) => `${name}=${formatKeyLiteral(predicate.values.get(name) ?? null)}`).join(',');
    if (!key) {
      throw badRequest(`The key '${text}' does not match any alternate key defined for the entity '${entity.logicalName}'.`, ErrorCode.InvalidArgument);
    }
    if (key.status !== 'Active') {
      throw badRequest(`The entity key '${key.schemaName}' is not active (status ${key.status}); it cannot be used to address records.`, ErrorCode.InvalidArgument);
    }
    const values: RecordValues = {};
    for (const [name, literal] of predicate.values) {
      const attribute = entity.attributes.get(name.toLowerCase());
      if (!attribute) throw odataError(`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${entity.logicalName}'.`);
      values[attribute.logicalName] = keyValueToStored(entity, attribute, literal);
    }
    return { kind: 'alternate', key, values, text };
  }

  find(entity: EntityDefinition, resolved: ResolvedKey): StoredRecord | undefined {
    if (resolved.kind === 'id') return this.store.get(entity.logicalName, resolved.id);
    return this.store
      .candidates(entity.logicalName, resolved.key.keyAttributes, resolved.values)
      .find((record) => resolved.key.keyAttributes.every((name) => keyValuesEqual(record.values[name], resolved.values[name])));
  }

  /** Throws the platform's duplicate-key error when another row already holds the same values for an active key. */
  assertKeysUnique(entity: EntityDefinition, id: string, values: RecordValues): void {
    for (const key of entity.keys) {
      if (key.status !== 'Active') continue;
      if (key.keyAttributes.some((name) => values[name] === null || values[name] === undefined)) continue;
      const clash = this.store
        .candidates(entity.logicalName, key.keyAttributes, values)
        .find((record) => record.id !== id && key.keyAttributes.every((name) => keyValuesEqual(record.values[name], values[name])));
      if (clash) {
        const shown = key.keyAttributes.map((name) => String(isEntityReference(values[name]) ? (values[name] as { id: string }).id : values[name])).join(',');
        throw duplicateRecord(
          `A record that has the attribute values ${shown} already exists. The entity key ${key.schemaName} requires that this set of attributes contains unique values. Select unique values and try again.`,
        );
      }
    }
  }
}
