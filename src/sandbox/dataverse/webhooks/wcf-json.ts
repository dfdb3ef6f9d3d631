import type { AttributeDefinition } from '../metadata/attribute-model.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import { isEntityReference, type StoredValue } from '../data/record.ts';

const CONTRACTS = 'http://schemas.microsoft.com/xrm/2011/Contracts';

export type WcfValue = string | number | boolean | null | WcfValue[] | { [key: string]: WcfValue };

/**
 * `"\/Date(1506384247000)\/"` — the DataContractJsonSerializer form of a DateTime ("Use webhooks to create external
 * handlers for server events").
 */
export function wcfDate(date: Date, withOffset = false): string {
  return `/Date(${date.getTime()}${withOffset ? '+0000' : ''})/`;
}

export function entityReference(id: string, logicalName: string): WcfValue {
  return { __type: `EntityReference:${CONTRACTS}`, Id: id, KeyAttributes: [], LogicalName: logicalName, Name: null, RowVersion: null };
}

/**
 * Serializes a column value the way the SDK types travel in a RemoteExecutionContext: lookups as EntityReference,
 * choices as OptionSetValue, money as Money, dates as `/Date(ms)/`. The exact `__type` forms for Money and option sets
 * are UNCONFIRMED ("Use webhooks to create external handlers for server events"); multi-select values become an array
 * of OptionSetValue (also UNCONFIRMED).
 */
export function wcfValue(attribute: AttributeDefinition | undefined, value: StoredValue | undefined): WcfValue {
  if (value === undefined || value === null) return null;
  if (isEntityReference(value)) return entityReference(value.id, value.logicalName);
  switch (attribute?.kind) {
    case 'Picklist':
    case 'State':
    case 'Status':
      return { __type: `OptionSetValue:${CONTRACTS}`, Value: value as number };
    case 'MultiSelectPicklist':
      return Array.isArray(value) ? value.map((item) => ({ __type: `OptionSetValue:${CONTRACTS}`, Value: item })) : null;
    case 'Money':
      return { __type: `Money:${CONTRACTS}`, Value: value as number };
    case 'DateTime':
      return typeof value === 'string' ? wcfDate(new Date(value.length === 10 ? `${value}T00:00:00Z` : value)) : null;
    default:
      return Array.isArray(value) ? value : (value as string | number | boolean);
  }
}

export interface EntityPayloadOptions {
  /**
   * Targets inside InputParameters carry a `__type`; images do not (verbatim sample, "Use webhooks to create external
   * handlers for server events").
   */
  typed: boolean;
  formattedValues?: Array<{ key: string; value: string }>;
}

export function entityPayload(entity: EntityDefinition, id: string, values: Record<string, StoredValue>, options: EntityPayloadOptions): WcfValue {
  const attributes = Object.entries(values).map(([key, value]): WcfValue => ({ key, value: wcfValue(entity.attributes.get(key), value) }));
  return {
    ...(options.typed ? { __type: `Entity:${CONTRACTS}` } : {}),
    Attributes: attributes,
    EntityState: null,
    FormattedValues: (options.formattedValues ?? []).map(({ key, value }) => ({ key, value })),
    Id: id,
    KeyAttributes: [],
    LogicalName: entity.logicalName,
    RelatedEntities: [],
    RowVersion: null,
  };
}

/** DataContractJsonSerializer escapes every `/` as `\/`; JSON parsers read both the same, but this is the real wire form. */
export function serializeWcfJson(value: WcfValue): string {
  return JSON.stringify(value).replace(/\//g, '\\/');
}
