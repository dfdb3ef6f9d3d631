import { z } from 'zod';
import type { DataverseClient } from './dataverse-client.ts';
import { entityKey, parseResponse } from './odata.ts';

/** What reads and writes need to know about a column: how it travels on the wire. */
export interface ColumnInfo {
  logicalName: string;
  schemaName: string;
  /** `AttributeType`: String, Memo, Lookup, Customer, Owner, Picklist, Virtual, … */
  attributeType: string;
  /** `AttributeTypeName.Value`: tells a multi-select choice (`MultiSelectPicklistType`) from other `Virtual` columns. */
  typeName: string | undefined;
  isCustom: boolean;
}

const attributeRowSchema = z.looseObject({
  LogicalName: z.string(),
  SchemaName: z.string().nullish(),
  AttributeType: z.string().nullish(),
  AttributeTypeName: z.looseObject({ Value: z.string().nullish() }).nullish(),
  IsCustomAttribute: z.boolean().nullish(),
});
const attributeListSchema = z.looseObject({ value: z.array(attributeRowSchema) });

export function isLookupColumn(info: ColumnInfo | undefined): boolean {
  return info !== undefined && ['Lookup', 'Customer', 'Owner'].includes(info.attributeType);
}

export function isMultiSelectColumn(info: ColumnInfo | undefined): boolean {
  return info?.typeName === 'MultiSelectPicklistType';
}

/**
 * Column kinds per table, fetched once per table with a light metadata query and kept for the connector's lifetime:
 * a lookup must be selected as `_x_value` and a multi-select choice arrives as a comma-separated string that only the
 * metadata tells apart from text. `invalidate` after provisioning changes the tables.
 */
export class ColumnCatalog {
  private readonly tables = new Map<string, Promise<Map<string, ColumnInfo>>>();

  constructor(private readonly client: DataverseClient) {}

  columns(logicalName: string): Promise<Map<string, ColumnInfo>> {
    let pending = this.tables.get(logicalName);
    if (!pending) {
      pending = this.fetch(logicalName);
      // A failed fetch is not cached: the next call tries again.
      pending.catch(() => this.tables.delete(logicalName));
      this.tables.set(logicalName, pending);
    }
    return pending;
  }

  invalidate(): void {
    this.tables.clear();
  }

  private async fetch(logicalName: string): Promise<Map<string, ColumnInfo>> {
    const raw = await this.client.run({ method: 'GET', route: 'EntityDefinitions({key})/Attributes' }, (signal) =>
      this.client.api.retrieveAttributes({
        entityKey: entityKey(logicalName),
        select: ['LogicalName', 'SchemaName', 'AttributeType', 'AttributeTypeName', 'IsCustomAttribute'],
        signal,
      }),
    );
    const parsed = parseResponse(attributeListSchema, raw, `GET EntityDefinitions(${logicalName})/Attributes`);
    const columns = new Map<string, ColumnInfo>();
    for (const row of parsed.value) {
      columns.set(row.LogicalName, {
        logicalName: row.LogicalName,
        schemaName: row.SchemaName ?? row.LogicalName,
        attributeType: row.AttributeType ?? 'Unknown',
        typeName: row.AttributeTypeName?.Value ?? undefined,
        isCustom: row.IsCustomAttribute === true,
      });
    }
    return columns;
  }
}
