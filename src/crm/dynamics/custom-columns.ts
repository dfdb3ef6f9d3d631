/*
 * The "Microsoft Partner Center" columns Microsoft's connector adds to the opportunity ("Co-sell connector for Dynamics
 * 365 CRM overview"), under the publisher prefix. Microsoft never published its Dynamics logical names, so these are
 * ours: `<prefix>_<name>`. Provisioning creates them from these definitions; the connector reads and writes them by the
 * same names.
 */

export type ProvisionedTable = 'opportunity' | 'lead';

export interface CustomColumnNames {
  syncWithPartnerCenter: string;
  referralIdentifier: string;
  referralLink: string;
  howCanMicrosoftHelp: string;
  referralVisibility: string;
  microsoftCrmIdentifier: string;
  microsoftStatus: string;
  audit: string;
  syncStatus: string;
  coSellDecision: string;
  declineReason: string;
  microsoftSellerName: string;
  microsoftSellerEmail: string;
}

export function customColumnNames(prefix: string): CustomColumnNames {
  return {
    syncWithPartnerCenter: `${prefix}_syncwithpartnercenter`,
    referralIdentifier: `${prefix}_referralidentifier`,
    referralLink: `${prefix}_referrallink`,
    howCanMicrosoftHelp: `${prefix}_howcanmicrosofthelp`,
    referralVisibility: `${prefix}_referralvisibility`,
    microsoftCrmIdentifier: `${prefix}_microsoftcrmidentifier`,
    microsoftStatus: `${prefix}_microsoftstatus`,
    audit: `${prefix}_audit`,
    syncStatus: `${prefix}_syncstatus`,
    coSellDecision: `${prefix}_coselldecision`,
    declineReason: `${prefix}_declinereason`,
    microsoftSellerName: `${prefix}_microsoftsellername`,
    microsoftSellerEmail: `${prefix}_microsoftselleremail`,
  };
}

export const AUDIT_MAX_LENGTH = 100_000;

/**
 * A choice rather than text: views and charts can filter "Failed" records, and labels can be translated. Values sit in
 * the default publisher's option range (prefix 10000), like the assistance values below.
 */
export const SYNC_STATUS_OPTIONS = { synced: 100_000_000, failed: 100_000_001, pending: 100_000_002, conflict: 100_000_003, paused: 100_000_004 } as const;

/**
 * "How can Microsoft help?" — the six values of "Co-sell connector for Dynamics 365 CRM overview", in that order, from
 * 100000000.
 */
export const ASSISTANCE_LABELS = [
  'Workload specific value proposition',
  'Customer technical architecture',
  'Proof of concept or demo',
  'Quotes or licensing',
  'Post sales customer success',
  'General or other',
] as const;

export const ASSISTANCE_OPTION_BASE = 100_000_000;

/**
 * The seller's answer to an incoming co-sell referral: Accept sends `Active/Accepted`, Decline `Closed/Declined` with the
 * decline reason as `statusReason` (Partner Center "Manage co-sell opportunities": an unaccepted referral can only be
 * accepted or declined).
 */
export const CO_SELL_DECISION_OPTIONS = { accept: 100_000_000, decline: 100_000_001 } as const;

/**
 * Why a referral is declined. Partner Center takes `statusReason` as free text; these labels are ours (Partner Center's
 * own decline-reason list in its UI is UNCONFIRMED) and travel as the label text.
 */
export const DECLINE_REASON_LABELS = [
  'Not a fit for our solutions',
  'Customer not interested',
  'No capacity to engage',
  'Duplicate of an existing deal',
  'Other',
] as const;

export const DECLINE_REASON_OPTION_BASE = 100_000_000;

/** The text sent as `statusReason` for a Decline Reason option value; undefined for a value that is not ours. */
export function declineReasonText(value: number | null | undefined): string | undefined {
  if (typeof value !== 'number') return undefined;
  return DECLINE_REASON_LABELS[value - DECLINE_REASON_OPTION_BASE];
}

export interface CustomColumnSpec {
  logicalName: string;
  tables: readonly ProvisionedTable[];
  /**
   * The AttributeMetadata body POSTed to `EntityDefinitions(LogicalName='…')/Attributes` ("Create and update column
   * definitions using the Web API" shapes).
   */
  definition: Record<string, unknown>;
  /**
   * Options the connector writes, which setup adds to an existing column that lacks them (a column made by an earlier
   * release). Only for choices whose values are ours; a customer's own options are never removed or relabelled.
   */
  requiredOptions?: ReadonlyArray<readonly [value: number, label: string]>;
}

/** The Sync Status options, in order; the connector writes each of them. */
export const SYNC_STATUS_OPTION_LABELS: ReadonlyArray<readonly [value: number, label: string]> = [
  [SYNC_STATUS_OPTIONS.synced, 'Synced'],
  [SYNC_STATUS_OPTIONS.failed, 'Failed'],
  [SYNC_STATUS_OPTIONS.pending, 'Pending'],
  [SYNC_STATUS_OPTIONS.conflict, 'Conflict'],
  [SYNC_STATUS_OPTIONS.paused, 'Paused'],
];

export function label(text: string): Record<string, unknown> {
  return {
    '@odata.type': 'Microsoft.Dynamics.CRM.Label',
    LocalizedLabels: [{ '@odata.type': 'Microsoft.Dynamics.CRM.LocalizedLabel', Label: text, LanguageCode: 1033 }],
  };
}

export const notRequired = { Value: 'None', CanBeChanged: true, ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings' };

function common(schemaName: string, displayName: string, description: string): Record<string, unknown> {
  return { SchemaName: schemaName, DisplayName: label(displayName), Description: label(description), RequiredLevel: notRequired };
}

export function stringColumn(schemaName: string, displayName: string, description: string, maxLength: number, format = 'Text'): Record<string, unknown> {
  return {
    '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
    AttributeType: 'String',
    AttributeTypeName: { Value: 'StringType' },
    ...common(schemaName, displayName, description),
    FormatName: { Value: format },
    MaxLength: maxLength,
  };
}

export function booleanColumn(schemaName: string, displayName: string, description: string): Record<string, unknown> {
  return {
    '@odata.type': 'Microsoft.Dynamics.CRM.BooleanAttributeMetadata',
    AttributeType: 'Boolean',
    AttributeTypeName: { Value: 'BooleanType' },
    ...common(schemaName, displayName, description),
    DefaultValue: false,
    OptionSet: {
      '@odata.type': 'Microsoft.Dynamics.CRM.BooleanOptionSetMetadata',
      TrueOption: { Value: 1, Label: label('Yes') },
      FalseOption: { Value: 0, Label: label('No') },
      OptionSetType: 'Boolean',
    },
  };
}

function picklistColumn(schemaName: string, displayName: string, description: string, options: ReadonlyArray<readonly [number, string]>): Record<string, unknown> {
  return {
    '@odata.type': 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
    AttributeType: 'Picklist',
    AttributeTypeName: { Value: 'PicklistType' },
    ...common(schemaName, displayName, description),
    OptionSet: {
      '@odata.type': 'Microsoft.Dynamics.CRM.OptionSetMetadata',
      IsGlobal: false,
      OptionSetType: 'Picklist',
      Options: options.map(([value, text]) => ({ Value: value, Label: label(text) })),
    },
  };
}

function memoColumn(schemaName: string, displayName: string, description: string, maxLength: number): Record<string, unknown> {
  return {
    '@odata.type': 'Microsoft.Dynamics.CRM.MemoAttributeMetadata',
    AttributeType: 'Memo',
    AttributeTypeName: { Value: 'MemoType' },
    ...common(schemaName, displayName, description),
    Format: 'TextArea',
    ImeMode: 'Disabled',
    MaxLength: maxLength,
    IsLocalizable: false,
  };
}

export function customColumnSpecs(prefix: string): CustomColumnSpec[] {
  const both: readonly ProvisionedTable[] = ['opportunity', 'lead'];
  const opportunityOnly: readonly ProvisionedTable[] = ['opportunity'];
  const p = prefix;
  const specs: Array<[string, readonly ProvisionedTable[], Record<string, unknown>]> = [
    [`${p}_SyncWithPartnerCenter`, both, booleanColumn(`${p}_SyncWithPartnerCenter`, 'Sync with Partner Center', 'Yes shares this record with Microsoft Partner Center; referrals from Partner Center are set to Yes.')],
    [`${p}_ReferralIdentifier`, both, stringColumn(`${p}_ReferralIdentifier`, 'Referral Identifier', 'Partner Center referral id (set by cosell-sync).', 100)],
    [`${p}_ReferralLink`, both, stringColumn(`${p}_ReferralLink`, 'Referral Link', 'Link to the referral in Partner Center (set by cosell-sync).', 500, 'Url')],
    [
      `${p}_HowCanMicrosoftHelp`,
      opportunityOnly,
      picklistColumn(
        `${p}_HowCanMicrosoftHelp`,
        'How can Microsoft help?',
        'Selecting a value makes this a co-sell opportunity (needs a customer contact).',
        ASSISTANCE_LABELS.map((text, index): [number, string] => [ASSISTANCE_OPTION_BASE + index, text]),
      ),
    ],
    [`${p}_ReferralVisibility`, opportunityOnly, booleanColumn(`${p}_ReferralVisibility`, 'Microsoft Partner Center Referral Visibility', 'Visible to Microsoft sellers; cannot be reverted once visible.')],
    [`${p}_MicrosoftCrmIdentifier`, opportunityOnly, stringColumn(`${p}_MicrosoftCrmIdentifier`, 'Microsoft CRM Identifier', "Microsoft's CRM id, filled when Microsoft accepts a co-sell referral.", 100)],
    [`${p}_MicrosoftStatus`, opportunityOnly, stringColumn(`${p}_MicrosoftStatus`, 'Microsoft Status', "Status of Microsoft's side of the co-sell engagement.", 100)],
    [
      `${p}_CoSellDecision`,
      both,
      picklistColumn(`${p}_CoSellDecision`, 'Co-sell Decision', 'Accept or decline an incoming co-sell referral from Microsoft.', [
        [CO_SELL_DECISION_OPTIONS.accept, 'Accept'],
        [CO_SELL_DECISION_OPTIONS.decline, 'Decline'],
      ]),
    ],
    [
      `${p}_DeclineReason`,
      both,
      picklistColumn(
        `${p}_DeclineReason`,
        'Decline Reason',
        'Why the co-sell referral is declined; sent to Partner Center with the decline.',
        DECLINE_REASON_LABELS.map((text, index): [number, string] => [DECLINE_REASON_OPTION_BASE + index, text]),
      ),
    ],
    [`${p}_MicrosoftSellerName`, opportunityOnly, stringColumn(`${p}_MicrosoftSellerName`, 'Microsoft Seller Name', 'The Microsoft seller on the co-sell engagement, when Partner Center provides it.', 200)],
    [
      `${p}_MicrosoftSellerEmail`,
      opportunityOnly,
      stringColumn(`${p}_MicrosoftSellerEmail`, 'Microsoft Seller Email', "The Microsoft seller's e-mail, when Partner Center provides it.", 100, 'Email'),
    ],
    [`${p}_Audit`, both, memoColumn(`${p}_Audit`, 'Audit', 'Partner Center sync audit trail, newest first (written by cosell-sync).', AUDIT_MAX_LENGTH)],
    [
      `${p}_SyncStatus`,
      both,
      picklistColumn(`${p}_SyncStatus`, 'Partner Center Sync Status', 'Outcome of the last Partner Center sync.', SYNC_STATUS_OPTION_LABELS),
    ],
  ];
  const syncStatus = `${p}_syncstatus`;
  return specs.map(([schemaName, tables, definition]) => {
    const logicalName = schemaName.toLowerCase();
    return { logicalName, tables, definition, ...(logicalName === syncStatus ? { requiredOptions: SYNC_STATUS_OPTION_LABELS } : {}) };
  });
}

export interface AlternateKeySpec {
  table: ProvisionedTable;
  logicalName: string;
  definition: Record<string, unknown>;
}

/**
 * The alternate key that makes a create keyed by referral id idempotent ("Work with alternate keys", principle
 * "idempotent effects").
 */
export function referralKeySpec(prefix: string, table: ProvisionedTable): AlternateKeySpec {
  const schemaName = `${prefix}_${table}_referralid_key`;
  return {
    table,
    logicalName: schemaName.toLowerCase(),
    definition: {
      '@odata.type': 'Microsoft.Dynamics.CRM.EntityKeyMetadata',
      SchemaName: schemaName,
      DisplayName: label('Partner Center referral id'),
      KeyAttributes: [`${prefix}_referralidentifier`],
    },
  };
}
