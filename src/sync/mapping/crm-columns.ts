import type { EntitySpec } from './spec.ts';

/** A column the connector must read for `crmToCanonical`; lookups are read through the code column of their target. */
export interface CrmColumnToRead {
  name: string;
  lookup?: { entity: string; by: string };
}

/** Every column the entity's fields read, once each, in mapping order (virtual ones such as `@state` included). */
export function crmColumnsToRead(entity: EntitySpec): CrmColumnToRead[] {
  const columns = new Map<string, CrmColumnToRead>();
  for (const field of entity.fields) {
    const t = field.transform;
    for (const name of field.crm) {
      if (columns.has(name)) continue;
      columns.set(name, t.type === 'lookup' ? { name, lookup: { entity: t.entity, by: t.by } } : { name });
    }
  }
  return [...columns.values()];
}
