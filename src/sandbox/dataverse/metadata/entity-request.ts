import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest } from '../errors.ts';
import type { AttributeDefinition } from './attribute-model.ts';
import { attributesFor, systemColumns } from './attribute-builders.ts';
import { attributeFromRequest, parseAttributeRequest } from './attribute-request.ts';
import type { EntityDefinition } from './entity-model.ts';
import { labelText } from './labels.ts';
import { stableGuid } from './stable-id.ts';

const labelSchema = z.object({ LocalizedLabels: z.array(z.object({ Label: z.string() }).loose()).min(1) }).loose();

/**
 * A table definition as "Create and update table definitions using the Web API" POSTs it to `EntityDefinitions`: an
 * EntityMetadata with its primary name column (a StringAttributeMetadata with `IsPrimaryName: true`) in `Attributes`.
 */
const entityRequestSchema = z
  .object({
    '@odata.type': z.string().optional(),
    SchemaName: z.string().min(1),
    LogicalName: z.string().optional(),
    DisplayName: labelSchema,
    DisplayCollectionName: labelSchema,
    Description: z.object({}).loose().optional(),
    OwnershipType: z.enum(['UserOwned', 'OrganizationOwned'], { error: 'must be UserOwned or OrganizationOwned' }),
    IsActivity: z.boolean().optional(),
    HasActivities: z.boolean().optional(),
    HasNotes: z.boolean().optional(),
    ChangeTrackingEnabled: z.boolean().optional(),
    Attributes: z.array(z.record(z.string(), z.unknown()), { error: 'must list the primary name column' }),
  })
  .loose();

/** Entity set names are the plural of the logical name (`new_bankaccount` → `new_bankaccounts`). */
export function pluralSetName(logicalName: string): string {
  if (/[^aeiou]y$/.test(logicalName)) return `${logicalName.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(logicalName)) return `${logicalName}es`;
  return `${logicalName}s`;
}

/**
 * Builds the custom table a POST describes: its primary id (`<logicalname>id`), the primary name column sent, state and
 * status (Active/Inactive), owner and audit columns. Other columns sent in `Attributes` are refused, as the documented
 * call creates only the primary name column with the table; the rest are added one by one afterwards.
 */
export function entityFromRequest(body: unknown, objectTypeCode: number, optionValuePrefix: number): EntityDefinition {
  const parsed = parseWithProblems(entityRequestSchema, body ?? {});
  if (!parsed.ok) throw badRequest(`Invalid entity definition: ${summarizeProblems(parsed.problems)}`);
  const request = parsed.value;
  if (request['@odata.type'] !== undefined && request['@odata.type'].replace(/^#/, '') !== 'Microsoft.Dynamics.CRM.EntityMetadata') {
    throw badRequest(`The @odata.type '${request['@odata.type']}' is not Microsoft.Dynamics.CRM.EntityMetadata.`);
  }
  if (request.IsActivity === true) throw badRequest('The Dataverse sandbox cannot create activity tables.');
  const logicalName = request.SchemaName.toLowerCase();
  if (request.LogicalName !== undefined && request.LogicalName !== logicalName) {
    throw badRequest(`LogicalName '${request.LogicalName}' must be the lower-case form of SchemaName '${request.SchemaName}'.`);
  }
  const primaryNames = request.Attributes.filter((attribute) => attribute.IsPrimaryName === true);
  const [primaryBody] = primaryNames;
  if (primaryNames.length !== 1 || request.Attributes.length !== 1 || !primaryBody) {
    throw badRequest('A new table needs exactly one attribute in Attributes: its primary name column (StringAttributeMetadata with IsPrimaryName true).');
  }
  const primaryName = attributeFromRequest(logicalName, parseAttributeRequest(primaryBody), optionValuePrefix, primaryBody);
  if (primaryName.kind !== 'String') throw badRequest('The primary name column of a table must be a StringAttributeMetadata.');
  const b = attributesFor(logicalName);
  const owned = request.OwnershipType === 'UserOwned';
  const columns: AttributeDefinition[] = [
    { ...b.primaryId(`${logicalName}id`, labelText(request.DisplayName)), isCustom: false },
    { ...primaryName, isPrimaryName: true },
    ...b.onOffStates('Active', 'Inactive'),
    ...systemColumns(b, owned),
  ];
  return {
    metadataId: stableGuid('entity', logicalName),
    logicalName,
    schemaName: request.SchemaName,
    entitySetName: pluralSetName(logicalName),
    displayName: labelText(request.DisplayName) ?? request.SchemaName,
    displayCollectionName: labelText(request.DisplayCollectionName) ?? request.SchemaName,
    primaryIdAttribute: `${logicalName}id`,
    primaryNameAttribute: primaryName.logicalName,
    objectTypeCode,
    ownershipType: request.OwnershipType,
    changeTrackingEnabled: request.ChangeTrackingEnabled === true,
    isActivity: false,
    isCustom: true,
    attributes: new Map(columns.map((column) => [column.logicalName, column])),
    keys: [],
    readOnly: false,
    stateValidForCreate: true,
  };
}
