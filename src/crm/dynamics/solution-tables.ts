import { booleanColumn, label, notRequired, stringColumn } from './custom-columns.ts';

/*
 * The Microsoft Solutions catalogue table and its N:N relationship with opportunity. Microsoft's Dynamics connector
 * keeps a "Microsoft Partner Center Solutions" subgrid on the opportunity ("Co-sell connector for Dynamics 365 CRM
 * overview") but never published the logical names of its table, so these are ours under the publisher prefix:
 * `<prefix>_microsoftsolution` (columns `<prefix>_name`, `<prefix>_solutionid`, `<prefix>_cosellready`) and the
 * relationship `<prefix>_opportunity_microsoftsolution`, whose navigation property on both sides is its schema name.
 */

export interface SolutionTableNames {
  /** Logical name of the catalogue table. */
  table: string;
  tableSchemaName: string;
  /** Primary id column, `<table>id`. */
  primaryId: string;
  /** Primary name column. */
  name: string;
  solutionId: string;
  coSellReady: string;
  /** Alternate key over the solution id: the upsert key and what keeps the catalogue free of duplicates. */
  key: string;
  /** N:N relationship schema name; also the collection-valued navigation property on opportunity and the catalogue. */
  relationship: string;
  intersect: string;
}

export function solutionTableNames(prefix: string): SolutionTableNames {
  const table = `${prefix}_microsoftsolution`;
  return {
    table,
    tableSchemaName: `${prefix}_MicrosoftSolution`,
    primaryId: `${table}id`,
    name: `${prefix}_name`,
    solutionId: `${prefix}_solutionid`,
    coSellReady: `${prefix}_cosellready`,
    key: `${prefix}_microsoftsolution_solutionid_key`,
    relationship: `${prefix}_opportunity_microsoftsolution`,
    intersect: `${prefix}_opportunity_microsoftsolution`,
  };
}

/** EntityMetadata for `POST EntityDefinitions` ("Create and update table definitions using the Web API"). */
export function solutionTableDefinition(prefix: string): Record<string, unknown> {
  return {
    '@odata.type': 'Microsoft.Dynamics.CRM.EntityMetadata',
    SchemaName: `${prefix}_MicrosoftSolution`,
    DisplayName: label('Microsoft Solution'),
    DisplayCollectionName: label('Microsoft Solutions'),
    Description: label("The partner's Microsoft Partner Center solutions (loaded by cosell solutions import)."),
    // One catalogue for the whole organization, not per seller.
    OwnershipType: 'OrganizationOwned',
    IsActivity: false,
    HasActivities: false,
    HasNotes: false,
    Attributes: [
      {
        '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
        AttributeType: 'String',
        AttributeTypeName: { Value: 'StringType' },
        SchemaName: `${prefix}_Name`,
        IsPrimaryName: true,
        DisplayName: label('Solution Name'),
        Description: label('Name of the solution in Partner Center.'),
        RequiredLevel: { ...notRequired, Value: 'ApplicationRequired' },
        FormatName: { Value: 'Text' },
        MaxLength: 200,
      },
    ],
  };
}

/** The columns added to the catalogue table after it exists, as AttributeMetadata bodies. */
export function solutionColumnDefinitions(prefix: string): Array<{ logicalName: string; definition: Record<string, unknown> }> {
  return [
    {
      logicalName: `${prefix}_solutionid`,
      definition: stringColumn(`${prefix}_SolutionId`, 'Solution ID', 'Partner Center solution id, e.g. SOL-34104-EBB.', 100),
    },
    {
      logicalName: `${prefix}_cosellready`,
      definition: booleanColumn(`${prefix}_CoSellReady`, 'Co-sell Ready', 'Co-sell ready in Partner Center.'),
    },
  ];
}

export function solutionKeyDefinition(prefix: string): Record<string, unknown> {
  return {
    '@odata.type': 'Microsoft.Dynamics.CRM.EntityKeyMetadata',
    SchemaName: `${prefix}_microsoftsolution_solutionid_key`,
    DisplayName: label('Solution ID'),
    KeyAttributes: [`${prefix}_solutionid`],
  };
}

/** ManyToManyRelationshipMetadata for `POST RelationshipDefinitions` ("Create and update table relationships using the Web API"). */
export function solutionRelationshipDefinition(prefix: string): Record<string, unknown> {
  const names = solutionTableNames(prefix);
  const menu = (text: string) => ({ Behavior: 'UseLabel', Group: 'Details', Label: label(text), Order: 10000 });
  return {
    '@odata.type': 'Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata',
    SchemaName: names.relationship,
    Entity1LogicalName: 'opportunity',
    Entity1AssociatedMenuConfiguration: menu('Opportunities'),
    Entity2LogicalName: names.table,
    Entity2AssociatedMenuConfiguration: menu('Microsoft Solutions'),
    IntersectEntityName: names.intersect,
  };
}
