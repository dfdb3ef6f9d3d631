/*
 * The CRM records the engine names, apart from the connector port so that the modules the port refers to (solutions)
 * can use them without importing the port back.
 */

/** The neutral entity names the engine and mapping files use; each connector maps them to its own tables. */
export const CRM_ENTITIES = ['opportunity', 'lead', 'account', 'contact'] as const;
export type CrmEntityName = (typeof CRM_ENTITIES)[number];

/** Narrows a name read from outside the type system (the store, a command line) without a cast. */
export function isCrmEntityName(name: string): name is CrmEntityName {
  return (CRM_ENTITIES as readonly string[]).includes(name);
}

export interface CrmRecordRef {
  entity: CrmEntityName;
  id: string;
}
