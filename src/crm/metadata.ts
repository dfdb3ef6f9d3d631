/** The CRM-neutral description of a table's columns, used to validate mapping files before anything is synced. */
export type CrmColumnType =
  | 'string'
  | 'memo'
  | 'boolean'
  | 'integer'
  | 'decimal'
  | 'money'
  | 'date'
  | 'datetime'
  | 'picklist'
  | 'multipicklist'
  | 'lookup'
  | 'url'
  /** Columns the connector implements itself (e.g. `@state`: open/won/lost through the CRM's close actions). */
  | 'virtual';

export interface CrmColumn {
  name: string;
  type: CrmColumnType;
  /** Picklist values as the CRM stores them (Dataverse option numbers, Salesforce picklist API names). */
  options?: ReadonlyArray<string | number>;
  maxLength?: number;
  /** Lookups: the table the column points at. */
  target?: string;
  readOnly?: boolean;
  /**
   * The org requires it on create (Dataverse RequiredLevel ApplicationRequired; Salesforce describe nillable = false,
   * createable and not defaulted on create).
   */
  required?: boolean;
}

export interface CrmEntityMetadata {
  /** The neutral entity name (`opportunity`, `lead`, `account`, `contact`). */
  entity: string;
  /** The CRM's own name for it (`opportunity` / `Opportunity`). */
  crmName: string;
  columns: Readonly<Record<string, CrmColumn>>;
  /**
   * The tables a `lookup` transform on this entity's columns may point at, when the connector resolves codes for only
   * some (a deal's currency); absent when any table with a code column will do (the account and contact sections).
   */
  lookupTargets?: readonly string[];
}
