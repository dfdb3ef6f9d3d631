import type { RecordStore, StoredRecord } from '../data/record-store.ts';
import { keyPrefixOf } from '../ids.ts';
import type { FieldDefinition, FieldValue } from '../schema/field-model.ts';
import type { ObjectRegistry, SObjectType } from '../schema/object-model.ts';
import type { FieldPath } from './ast.ts';
import { invalidField, NO_SUCH_COLUMN_HINT, NO_SUCH_RELATIONSHIP_HINT } from './query-errors.ts';

/** One hop from a record to its parent through a lookup (`Account` via AccountId). */
export interface RelationshipHop {
  field: FieldDefinition;
  /** The relationship name as the response spells it (`Account`, `Owner`). */
  name: string;
  targets: SObjectType[];
}

export interface ResolvedPath {
  hops: RelationshipHop[];
  field: FieldDefinition;
  /** Canonical dotted name (`Account.Name`), used for duplicate detection. */
  key: string;
}

export interface QuerySource {
  registry: ObjectRegistry;
  store: RecordStore;
}

/** Resolves `Account.Owner.Name` against the schema, or throws the INVALID_FIELD Salesforce gives. */
export function resolvePath(source: QuerySource, root: SObjectType, path: FieldPath, query: string): ResolvedPath {
  let current = root;
  const hops: RelationshipHop[] = [];
  const segments = path.segments;
  for (let index = 0; index < segments.length - 1; index += 1) {
    const name = segments[index] ?? '';
    const relationship = current.relationship(name);
    const targets = (relationship?.referenceTo ?? []).map((target) => source.registry.get(target)).filter((type): type is SObjectType => type !== undefined);
    const next = targets[0];
    if (!relationship || !next) {
      throw invalidField(query, path.position, `Didn't understand relationship '${name}' in field path. ${NO_SUCH_RELATIONSHIP_HINT}`);
    }
    hops.push({ field: relationship, name: relationship.relationshipName ?? name, targets });
    current = next;
  }
  const last = segments[segments.length - 1] ?? '';
  const field = current.field(last);
  if (!field) {
    const shown = segments.join('.');
    throw invalidField(query, path.position, `No such column '${shown}' on entity '${current.name}'. ${NO_SUCH_COLUMN_HINT}`);
  }
  return { hops, field, key: [...hops.map((hop) => hop.name), field.name].join('.').toLowerCase() };
}

/** The parent row a lookup points at (live rows only; a deleted parent reads as null, as in SOQL). */
export function followHop(source: QuerySource, record: StoredRecord, hop: RelationshipHop): { record: StoredRecord; type: SObjectType } | undefined {
  const id = record.values[hop.field.name];
  if (typeof id !== 'string') return undefined;
  const type = hop.targets.find((candidate) => candidate.keyPrefix === keyPrefixOf(id));
  if (!type) return undefined;
  const parent = source.store.get(type.name, id);
  return parent && parent.deletedAt === null ? { record: parent, type } : undefined;
}

export function valueAt(source: QuerySource, record: StoredRecord, path: ResolvedPath): FieldValue {
  let current: StoredRecord | undefined = record;
  for (const hop of path.hops) {
    current = current ? followHop(source, current, hop)?.record : undefined;
    if (!current) return null;
  }
  return current.values[path.field.name] ?? null;
}
