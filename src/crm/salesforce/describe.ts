import { z } from 'zod';
import type { CrmEntityName } from '../connector.ts';
import type { CrmColumn, CrmColumnType, CrmEntityMetadata } from '../metadata.ts';
import { LEAD_STATES, OPPORTUNITY_STATES, SALES_STAGE_PERCENTAGES, sobjectFor } from './objects.ts';
import type { SalesforceClient } from './salesforce-client.ts';

/*
 * sObject describe (REST API "sObject Describe") → the neutral column metadata the mapping is validated against, cached
 * per object: the connector also plans reads and writes from it (date vs datetime, multi-currency, the Lead Status
 * default, whether the referral id is unique, relationship names for lookups).
 */

const picklistValueSchema = z.looseObject({ value: z.string(), active: z.boolean().nullish(), defaultValue: z.boolean().nullish() });
const fieldSchema = z.looseObject({
  name: z.string(),
  type: z.string(),
  length: z.number().nullish(),
  createable: z.boolean().nullish(),
  updateable: z.boolean().nullish(),
  nillable: z.boolean().nullish(),
  defaultedOnCreate: z.boolean().nullish(),
  externalId: z.boolean().nullish(),
  unique: z.boolean().nullish(),
  calculated: z.boolean().nullish(),
  referenceTo: z.array(z.string()).nullish(),
  relationshipName: z.string().nullish(),
  picklistValues: z.array(picklistValueSchema).nullish(),
});
export type FieldDescribe = z.output<typeof fieldSchema>;
const describeSchema = z.looseObject({ name: z.string(), fields: z.array(fieldSchema) });

export interface SObjectDescribe {
  name: string;
  fields: ReadonlyMap<string, FieldDescribe>;
  /** Case-insensitive lookup: SOQL and the REST API accept any case, mapping files may not match the describe's. */
  field(name: string): FieldDescribe | undefined;
}

export class DescribeCache {
  private readonly cache = new Map<string, Promise<SObjectDescribe>>();

  constructor(private readonly client: SalesforceClient) {}

  describe(sobject: string): Promise<SObjectDescribe> {
    let pending = this.cache.get(sobject);
    if (!pending) {
      pending = this.load(sobject);
      this.cache.set(sobject, pending);
      pending.catch(() => {
        if (this.cache.get(sobject) === pending) this.cache.delete(sobject);
      });
    }
    return pending;
  }

  invalidate(): void {
    this.cache.clear();
  }

  /**
   * Whether the org is multi-currency: CurrencyIsoCode exists only then (Salesforce Object Reference "Opportunity").
   */
  async multiCurrency(sobject = 'Opportunity'): Promise<boolean> {
    return (await this.describe(sobject)).field('CurrencyIsoCode') !== undefined;
  }

  private async load(sobject: string): Promise<SObjectDescribe> {
    const body = await this.client.sendParsed({ method: 'GET', path: `/sobjects/${sobject}/describe`, route: `sobjects/${sobject}/describe` }, describeSchema);
    const fields = new Map(body.fields.map((field) => [field.name, field]));
    const lower = new Map(body.fields.map((field) => [field.name.toLowerCase(), field]));
    return { name: body.name, fields, field: (name) => fields.get(name) ?? lower.get(name.toLowerCase()) };
  }
}

function columnType(field: FieldDescribe): CrmColumnType | undefined {
  switch (field.type) {
    case 'id':
    case 'string':
    case 'email':
    case 'phone':
    case 'encryptedstring':
    case 'combobox':
      return 'string';
    case 'textarea':
      return 'memo';
    case 'url':
      return 'url';
    case 'boolean':
      return 'boolean';
    case 'currency':
      return 'money';
    case 'double':
    case 'percent':
      return 'decimal';
    case 'int':
    case 'long':
      return 'integer';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'picklist':
      return 'picklist';
    case 'multipicklist':
      return 'multipicklist';
    case 'reference':
      return 'lookup';
    default:
      // address, location, time, base64, anyType: compound or binary values no mapping transform reads.
      return undefined;
  }
}

export function activePicklistValues(field: FieldDescribe | undefined): string[] {
  return (field?.picklistValues ?? []).filter((entry) => entry.active !== false).map((entry) => entry.value);
}

function toColumn(field: FieldDescribe): CrmColumn | undefined {
  // CurrencyIsoCode is a restricted picklist of the org's active ISO 4217 codes. Reported as a 3-character string so the
  // mapping can carry Partner Center's currency code as it is (a value map would have to list every currency); an
  // inactive code is still refused by Salesforce and shows in dead letters with its message.
  if (field.name === 'CurrencyIsoCode') return { name: field.name, type: 'string', maxLength: 3, options: activePicklistValues(field), ...(field.updateable === false && field.createable === false ? { readOnly: true } : {}) };
  const type = columnType(field);
  if (!type) return undefined;
  const column: CrmColumn = { name: field.name, type };
  if (field.createable === false && field.updateable === false) column.readOnly = true;
  if (field.nillable === false && field.createable === true && field.defaultedOnCreate !== true && field.type !== 'boolean') column.required = true;
  if ((type === 'string' || type === 'memo' || type === 'url') && typeof field.length === 'number' && field.length > 0) column.maxLength = field.length;
  if (type === 'picklist' || type === 'multipicklist') column.options = activePicklistValues(field);
  if (type === 'lookup' && field.referenceTo && field.referenceTo.length > 0) column.target = field.referenceTo.join(',');
  return column;
}

const STATE_OPTIONS: Partial<Record<CrmEntityName, readonly string[]>> = { opportunity: OPPORTUNITY_STATES, lead: LEAD_STATES };

export async function describeEntity(cache: DescribeCache, entity: CrmEntityName): Promise<CrmEntityMetadata> {
  const info = sobjectFor(entity);
  const described = await cache.describe(info.sobject);
  const columns: Record<string, CrmColumn> = {};
  for (const field of described.fields.values()) {
    const column = toColumn(field);
    if (column) columns[column.name] = column;
  }
  const states = STATE_OPTIONS[entity];
  if (states) columns['@state'] = { name: '@state', type: 'virtual', options: [...states] };
  // Partner Center's sales stage as its percentage, from the stage's DefaultProbability (states.ts).
  if (entity === 'opportunity') columns['@salesStage'] = { name: '@salesStage', type: 'virtual', options: [...SALES_STAGE_PERCENTAGES] };
  // A deal's fields take no lookup by code (the currency is the CurrencyIsoCode picklist); customer fields take any.
  const deal = entity === 'opportunity' || entity === 'lead';
  return { entity, crmName: described.name, columns, ...(deal ? { lookupTargets: [] } : {}) };
}
