import { odataError, unknownProperty } from '../errors.ts';
import { edmTypeOf, isLookup } from '../metadata/attribute-model.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import type { FilterNode } from '../odata/filter-ast.ts';
import { compareForSort, compileFilter, type PropertyResolver, type ResolvedProperty } from '../odata/filter-compiler.ts';
import type { OrderByItem } from '../odata/query-options.ts';
import { isEntityReference, type StoredRecord } from './record.ts';
import type { RecordStore } from './record-store.ts';
import { toWireValue } from './value-codec.ts';

/** Resolves `$filter` / `$orderby` property paths against a table, including one hop through a lookup (`parentaccountid/name`). */
class RecordPropertyResolver implements PropertyResolver<StoredRecord> {
  constructor(
    private readonly registry: MetadataRegistry,
    private readonly store: RecordStore,
    private readonly entity: EntityDefinition,
  ) {}

  resolve(path: string[]): ResolvedProperty<StoredRecord> {
    const [first, second, ...rest] = path;
    if (first === undefined || rest.length > 0) throw odataError(`The property path '${path.join('/')}' is not supported.`);
    if (second === undefined) return this.column(this.entity, first);
    const navigation = this.registry.navigationProperty(this.entity, first);
    if (!navigation) throw unknownProperty(first, this.entity.logicalName);
    const target = this.registry.requireEntity(navigation.target.entity);
    const inner = this.column(target, second);
    return {
      type: inner.type,
      get: (row) => {
        const reference = row.values[navigation.attribute.logicalName];
        if (!isEntityReference(reference) || reference.logicalName !== target.logicalName) return null;
        const related = this.store.get(target.logicalName, reference.id);
        return related ? inner.get(related) : null;
      },
    };
  }

  private column(entity: EntityDefinition, name: string): ResolvedProperty<StoredRecord> {
    // A lookup named by its logical name (`parentaccountid eq …`) is treated as `_parentaccountid_value` (tolerant).
    const attribute = this.registry.lookupByValueProperty(entity, name) ?? entity.attributes.get(name);
    if (!attribute || !attribute.validForRead) throw unknownProperty(name, entity.logicalName);
    if (attribute.isPrimaryId) return { type: 'Edm.Guid', get: (row) => row.id };
    if (isLookup(attribute)) {
      return {
        type: 'Edm.Guid',
        get: (row) => {
          const value = row.values[attribute.logicalName];
          return isEntityReference(value) ? value.id : null;
        },
      };
    }
    return { type: edmTypeOf(attribute), get: (row) => toWireValue(attribute, row.values[attribute.logicalName]) };
  }
}

export class RecordQuery {
  constructor(
    private readonly registry: MetadataRegistry,
    private readonly store: RecordStore,
  ) {}

  resolver(entity: EntityDefinition): PropertyResolver<StoredRecord> {
    return new RecordPropertyResolver(this.registry, this.store, entity);
  }

  /** Filtered and ordered rows; without `$orderby` rows come in creation order (stable across pages). */
  select(entity: EntityDefinition, filter: FilterNode | undefined, orderBy: OrderByItem[] | undefined): StoredRecord[] {
    const resolver = this.resolver(entity);
    const predicate = filter ? compileFilter(filter, resolver) : () => true;
    const sorters = (orderBy ?? []).map((item) => ({ ...item, property: resolver.resolve(item.property.split('/')) }));
    const rows = this.store.all(entity.logicalName).filter(predicate);
    return rows.sort((a, b) => {
      for (const sorter of sorters) {
        const result = compareForSort(sorter.property.get(a), sorter.property.get(b), sorter.property.type);
        if (result !== 0) return sorter.descending ? -result : result;
      }
      return a.sequence - b.sequence;
    });
  }
}
