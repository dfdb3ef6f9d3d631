/*
 * The Microsoft Solutions catalogue and its junction with Opportunity. Microsoft's Salesforce package adds a "Microsoft
 * Solutions" related list to the Opportunity ("Co-sell connector for Salesforce CRM - overview") but its object API
 * names were never published (the May 2020 setup guide names only Opportunity fields), so these names are ours:
 *   Microsoft_Solution__c — Name (the solution's name), Solution_Id__c (unique external id), Co_sell_Ready__c;
 *   Opportunity_Microsoft_Solution__c — a junction with two master-detail fields, Opportunity__c (child relationship
 *   Microsoft_Solutions: the Opportunity related list) and Microsoft_Solution__c.
 */

export const SOLUTION_OBJECTS = {
  catalogue: 'Microsoft_Solution__c',
  junction: 'Opportunity_Microsoft_Solution__c',
} as const;

export const SOLUTION_FIELDS = {
  solutionId: 'Solution_Id__c',
  coSellReady: 'Co_sell_Ready__c',
  junctionOpportunity: 'Opportunity__c',
  junctionSolution: 'Microsoft_Solution__c',
  /** The junction's lookup to the catalogue, as a relationship in SOQL. */
  junctionSolutionRelationship: 'Microsoft_Solution__r',
} as const;

export interface CustomObjectSpec {
  /** `Microsoft_Solution__c` */
  objectName: string;
  /** CustomObject metadata as the Tooling API takes it (Tooling API "CustomObject"). */
  metadata: Record<string, unknown>;
  /** Its custom fields, created after the object, in order (the junction's master-detail fields). */
  fields: Array<{ fieldName: string; metadata: Record<string, unknown> }>;
}

export function solutionObjectSpecs(): CustomObjectSpec[] {
  return [
    {
      objectName: SOLUTION_OBJECTS.catalogue,
      metadata: {
        label: 'Microsoft Solution',
        pluralLabel: 'Microsoft Solutions',
        nameField: { type: 'Text', label: 'Solution Name' },
        deploymentStatus: 'Deployed',
        sharingModel: 'ReadWrite',
        description: "The partner's Microsoft Partner Center solutions (loaded by cosell solutions import).",
      },
      fields: [
        {
          fieldName: SOLUTION_FIELDS.solutionId,
          metadata: { label: 'Solution ID', type: 'Text', length: 100, externalId: true, unique: true, caseSensitive: false, required: true, description: 'Partner Center solution id, e.g. SOL-34104-EBB.' },
        },
        { fieldName: SOLUTION_FIELDS.coSellReady, metadata: { label: 'Co-sell Ready', type: 'Checkbox', defaultValue: 'false', description: 'Co-sell ready in Partner Center.' } },
      ],
    },
    {
      objectName: SOLUTION_OBJECTS.junction,
      metadata: {
        label: 'Opportunity Microsoft Solution',
        pluralLabel: 'Opportunity Microsoft Solutions',
        nameField: { type: 'Text', label: 'Opportunity Microsoft Solution' },
        deploymentStatus: 'Deployed',
        // A junction's access follows its masters.
        sharingModel: 'ControlledByParent',
        description: 'A Microsoft solution chosen on an opportunity (sent to Partner Center with the co-sell referral).',
      },
      fields: [
        {
          fieldName: SOLUTION_FIELDS.junctionOpportunity,
          metadata: { label: 'Opportunity', type: 'MasterDetail', referenceTo: 'Opportunity', relationshipName: 'Microsoft_Solutions', relationshipLabel: 'Microsoft Solutions' },
        },
        {
          fieldName: SOLUTION_FIELDS.junctionSolution,
          metadata: { label: 'Microsoft Solution', type: 'MasterDetail', referenceTo: SOLUTION_OBJECTS.catalogue, relationshipName: 'Opportunities', relationshipLabel: 'Opportunities' },
        },
      ],
    },
  ];
}
