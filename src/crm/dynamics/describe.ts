import { z } from 'zod';
import type { CrmEntityName } from '../connector.ts';
import type { CrmColumn, CrmColumnType, CrmEntityMetadata } from '../metadata.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { entityKey, parseResponse } from './odata.ts';
import { CODE_LOOKUPS, LOSS_REASON_COLUMN, tableFor } from './tables.ts';

const labelled = z.looseObject({ Value: z.number() });
const optionSetSchema = z
  .looseObject({
    Options: z.array(labelled).nullish(),
    TrueOption: labelled.nullish(),
    FalseOption: labelled.nullish(),
  })
  .nullish();

const attributeSchema = z.looseObject({
  '@odata.type': z.string().nullish(),
  LogicalName: z.string(),
  AttributeType: z.string().nullish(),
  AttributeTypeName: z.looseObject({ Value: z.string().nullish() }).nullish(),
  AttributeOf: z.string().nullish(),
  IsValidForCreate: z.boolean().nullish(),
  IsValidForUpdate: z.boolean().nullish(),
  IsValidForRead: z.boolean().nullish(),
  MaxLength: z.number().nullish(),
  Format: z.string().nullish(),
  FormatName: z.looseObject({ Value: z.string().nullish() }).nullish(),
  DateTimeBehavior: z.looseObject({ Value: z.string().nullish() }).nullish(),
  Targets: z.array(z.string()).nullish(),
  RequiredLevel: z.looseObject({ Value: z.string().nullish() }).nullish(),
  OptionSet: optionSetSchema,
  GlobalOptionSet: optionSetSchema,
});
type AttributeRow = z.output<typeof attributeSchema>;
const attributeListSchema = z.looseObject({ value: z.array(attributeSchema) });

/** Choice metadata types whose options live behind the `OptionSet` navigation property. */
const OPTION_CASTS = [
  'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
  'Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata',
  'Microsoft.Dynamics.CRM.StateAttributeMetadata',
  'Microsoft.Dynamics.CRM.StatusAttributeMetadata',
] as const;

/** The connector's virtual `@state` column per table (read from statecode, written through actions / state changes). */
const STATE_COLUMNS: Partial<Record<CrmEntityName, readonly string[]>> = {
  opportunity: ['open', 'won', 'lost'],
  lead: ['open', 'qualified', 'disqualified'],
};

/** `AttributeType`, else derived from `@odata.type` (`#Microsoft.Dynamics.CRM.MoneyAttributeMetadata` → `Money`). */
function attributeType(row: AttributeRow): string {
  if (row.AttributeType) return row.AttributeType;
  const derived = /([A-Za-z]+)AttributeMetadata$/.exec(row['@odata.type'] ?? '')?.[1] ?? '';
  return derived === 'UniqueIdentifier' ? 'Uniqueidentifier' : derived === 'MultiSelectPicklist' ? 'Virtual' : derived;
}

function columnType(row: AttributeRow): CrmColumnType | undefined {
  const type = attributeType(row);
  const typeName = row.AttributeTypeName?.Value ?? '';
  switch (type) {
    case 'String':
      return (row.FormatName?.Value ?? row.Format) === 'Url' ? 'url' : 'string';
    case 'Memo':
      return 'memo';
    case 'Boolean':
      return 'boolean';
    case 'Integer':
    case 'BigInt':
      return 'integer';
    case 'Decimal':
    case 'Double':
      return 'decimal';
    case 'Money':
      return 'money';
    case 'DateTime':
      return row.Format === 'DateOnly' || row.DateTimeBehavior?.Value === 'DateOnly' ? 'date' : 'datetime';
    case 'Picklist':
    case 'State':
    case 'Status':
      return 'picklist';
    case 'Lookup':
    case 'Customer':
    case 'Owner':
      return 'lookup';
    case 'Uniqueidentifier':
    case 'EntityName':
      return 'string';
    case 'Virtual':
      return typeName === 'MultiSelectPicklistType' || /MultiSelectPicklistAttributeMetadata$/.test(row['@odata.type'] ?? '') ? 'multipicklist' : undefined;
    default:
      return undefined;
  }
}

function optionValues(row: AttributeRow | undefined): number[] | undefined {
  const set = row?.OptionSet ?? row?.GlobalOptionSet;
  const options = set?.Options;
  return options ? options.map((option) => option.Value) : undefined;
}

function toColumn(row: AttributeRow, options: Map<string, number[]>): CrmColumn | undefined {
  const type = columnType(row);
  // `AttributeOf` columns (`…name`, `…yominame`) are read-only shadows of a lookup or choice, not columns of their own.
  if (!type || row.AttributeOf || row.IsValidForRead === false) return undefined;
  const column: CrmColumn = { name: row.LogicalName, type };
  if (row.IsValidForUpdate === false && row.IsValidForCreate === false) column.readOnly = true;
  // SystemRequired columns (owner, state) are filled by Dataverse itself, and so is the currency (the org's base currency
  // when a create names none, "Transaction currency (currency) entity"); other ApplicationRequired ones are the org's.
  if (row.RequiredLevel?.Value === 'ApplicationRequired' && row.IsValidForCreate !== false && row.LogicalName !== 'transactioncurrencyid') column.required = true;
  if ((type === 'string' || type === 'memo' || type === 'url') && typeof row.MaxLength === 'number') column.maxLength = row.MaxLength;
  if (type === 'lookup' && row.Targets && row.Targets.length > 0) column.target = row.Targets.join(',');
  const values = options.get(row.LogicalName) ?? optionValues(row);
  if (type === 'picklist' && values) column.options = values;
  // Multi-select values are read and written as option numbers in decimal strings (see wire-values.ts).
  if (type === 'multipicklist' && values) column.options = values.map(String);
  return column;
}

/**
 * `describe`: one request for every column's properties (without `$select`, each row comes with the properties of its
 * own metadata type: MaxLength, Format, Targets), plus one per choice type for the options, which are a navigation
 * property only reachable through a cast (`Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet`).
 * A service that refuses a cast is tolerated: options inlined in the first response are used, else none are reported.
 */
export async function describeTable(client: DataverseClient, entity: CrmEntityName): Promise<CrmEntityMetadata> {
  const table = tableFor(entity);
  const key = entityKey(table.logicalName);
  const route = 'EntityDefinitions({key})/Attributes';
  const [all, ...casts] = await Promise.all([
    client.run({ method: 'GET', route }, (signal) => client.api.retrieveAttributes({ entityKey: key, signal })),
    ...OPTION_CASTS.map((castType) =>
      client
        .run({ method: 'GET', route: `${route}/${castType.split('.').pop() ?? castType}` }, (signal) =>
          // No $select: the sandbox projects the expanded OptionSet away when one is given, and the real service answers either way.
          client.api.retrieveAttributes({ entityKey: key, castType, expand: [{ property: 'OptionSet' }], signal }),
        )
        .catch((error: unknown) => {
          client.logger.debug({ entity, castType, error: error instanceof Error ? error.message : String(error) }, 'choice options not available by cast');
          return undefined;
        }),
    ),
  ]);
  const rows = parseResponse(attributeListSchema, all, `GET EntityDefinitions(${table.logicalName})/Attributes`).value;
  const options = new Map<string, number[]>();
  for (const cast of casts) {
    if (cast === undefined) continue;
    const parsed = attributeListSchema.safeParse(cast);
    if (!parsed.success) continue;
    for (const row of parsed.data.value) {
      const values = optionValues(row);
      if (values) options.set(row.LogicalName, values);
    }
  }

  const columns: Record<string, CrmColumn> = {};
  for (const row of rows) {
    const column = toColumn(row, options);
    if (column) columns[column.name] = column;
  }
  const states = STATE_COLUMNS[entity];
  if (states) columns['@state'] = { name: '@state', type: 'virtual', options: [...states] };
  // The lost status reason (see LOSS_REASON_COLUMN): any status reason of the Lost state, the org's own included.
  if (entity === 'opportunity') columns[LOSS_REASON_COLUMN] = { name: LOSS_REASON_COLUMN, type: 'virtual' };
  // A deal's lookup codes are resolved for the currency table only (write-body.ts); customer columns resolve any table.
  const deal = entity === 'opportunity' || entity === 'lead';
  return { entity, crmName: table.logicalName, columns, ...(deal ? { lookupTargets: Object.keys(CODE_LOOKUPS) } : {}) };
}

const choiceColumnSchema = z.looseObject({ OptionSet: z.looseObject({ Options: z.array(labelled).nullish() }).nullish() });

/**
 * The option values of one local choice column: a single request through the Picklist cast, `OptionSet` expanded (no
 * `$select`, which would project the expansion away on the sandbox). Used by setup (to add missing options) and by the
 * connector (to know whether a value it is about to write exists).
 */
export async function choiceOptionValues(client: DataverseClient, table: string, column: string): Promise<number[]> {
  const raw = await client.run({ method: 'GET', route: 'EntityDefinitions({key})/Attributes({key})/PicklistAttributeMetadata' }, (signal) =>
    client.api.retrieveAttribute({
      entityKey: entityKey(table),
      attributeKey: `LogicalName='${column}'`,
      castType: 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
      expand: [{ property: 'OptionSet' }],
      signal,
    }),
  );
  return parseResponse(choiceColumnSchema, raw, `GET EntityDefinitions(${table})/Attributes(${column})`).OptionSet?.Options?.map((option) => option.Value) ?? [];
}
