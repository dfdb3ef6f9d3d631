/** Dataverse AttributeTypeCode values the sandbox models (`Virtual` + MultiSelectPicklistType is the multi-select choice). */
export type AttributeKind =
  | 'Uniqueidentifier'
  | 'String'
  | 'Memo'
  | 'Integer'
  | 'BigInt'
  | 'Decimal'
  | 'Double'
  | 'Money'
  | 'Boolean'
  | 'DateTime'
  | 'Picklist'
  | 'MultiSelectPicklist'
  | 'State'
  | 'Status'
  | 'Lookup'
  | 'Customer'
  | 'Owner'
  | 'EntityName';

export type RequiredLevel = 'None' | 'Recommended' | 'ApplicationRequired' | 'SystemRequired';

export interface OptionDefinition {
  value: number;
  label: string;
  /** StatusOptionMetadata.State: the statecode a statuscode belongs to. */
  state?: number;
  /** StateOptionMetadata.DefaultStatus. */
  defaultStatus?: number;
}

export interface LookupTarget {
  entity: string;
  /** Single-valued navigation property used in `@odata.bind` and `$expand` (`customerid_account`, `parentaccountid`). */
  navigationProperty: string;
}

export interface AttributeDefinition {
  metadataId: string;
  logicalName: string;
  schemaName: string;
  kind: AttributeKind;
  displayName: string;
  description: string;
  requiredLevel: RequiredLevel;
  isCustom: boolean;
  isPrimaryId: boolean;
  isPrimaryName: boolean;
  validForCreate: boolean;
  validForUpdate: boolean;
  /** False for write-only columns (serviceendpoint.authvalue): reads return null. */
  validForRead: boolean;
  /** String/Memo. */
  maxLength?: number;
  /** String FormatName (Text, Email, Url, Phone); Memo Format (TextArea); DateTime Format (DateOnly, DateAndTime). */
  format?: string;
  minValue?: number;
  maxValue?: number;
  precision?: number;
  /** Picklist, MultiSelectPicklist, State, Status. */
  options?: OptionDefinition[];
  /** Boolean labels: [false, true]. */
  booleanLabels?: { falseLabel: string; trueLabel: string };
  defaultValue?: number | boolean;
  /** Lookup, Customer, Owner. */
  targets?: LookupTarget[];
  /** When set, reads echo this body back (custom columns keep what the client sent, e.g. labels in other languages). */
  sourceBody?: Record<string, unknown>;
}

export const LOOKUP_KINDS: ReadonlySet<AttributeKind> = new Set(['Lookup', 'Customer', 'Owner']);
export const OPTION_KINDS: ReadonlySet<AttributeKind> = new Set(['Picklist', 'MultiSelectPicklist', 'State', 'Status']);
export const NUMERIC_KINDS: ReadonlySet<AttributeKind> = new Set(['Integer', 'BigInt', 'Decimal', 'Double', 'Money']);

export function isLookup(attribute: AttributeDefinition): boolean {
  return LOOKUP_KINDS.has(attribute.kind);
}

/** The name a lookup has on the wire when read (`_parentaccountid_value`). */
export function lookupValueProperty(logicalName: string): string {
  return `_${logicalName}_value`;
}

export function optionLabel(attribute: AttributeDefinition, value: number): string | undefined {
  return attribute.options?.find((option) => option.value === value)?.label;
}

/** The EDM type clients see for a column; used to type-check `$filter` comparisons like the real OData layer does. */
export function edmTypeOf(attribute: AttributeDefinition): string {
  switch (attribute.kind) {
    case 'Uniqueidentifier':
    case 'Lookup':
    case 'Customer':
    case 'Owner':
      return 'Edm.Guid';
    case 'Integer':
    case 'Picklist':
    case 'State':
    case 'Status':
      return 'Edm.Int32';
    case 'BigInt':
      return 'Edm.Int64';
    case 'Decimal':
    case 'Money':
      return 'Edm.Decimal';
    case 'Double':
      return 'Edm.Double';
    case 'Boolean':
      return 'Edm.Boolean';
    case 'DateTime':
      return attribute.format === 'DateOnly' ? 'Edm.Date' : 'Edm.DateTimeOffset';
    default:
      return 'Edm.String';
  }
}
