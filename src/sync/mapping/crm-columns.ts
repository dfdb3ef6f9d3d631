import type { EntitySpec } from './spec.ts';

/** A column the connector must read for `crmToCanonical`; lookups are read through the code column of their target. */
export interface CrmColumnToRead {
  name: string;
  lookup?: { entity: string; by: string };
}

/** Every column the entity's fields (and its loss reason) read, once each, in mapping order (virtual ones such as `@state` included). */
export function crmColumnsToRead(entity: EntitySpec): CrmColumnToRead[] {
  const columns = new Map<string, CrmColumnToRead>();
  for (const field of entity.fields) {
    const t = field.transform;
    for (const name of field.crm) {
      if (columns.has(name)) continue;
      columns.set(name, t.type === 'lookup' ? { name, lookup: { entity: t.entity, by: t.by } } : { name });
    }
  }
  // The loss reason travels with a close as lost, so it is read with the record (see loss-reason.ts).
  const loss = entity.lossReason?.crm;
  if (loss !== undefined && !columns.has(loss)) columns.set(loss, { name: loss });
  return [...columns.values()];
}
