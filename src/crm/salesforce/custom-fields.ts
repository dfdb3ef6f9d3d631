/*
 * The "Microsoft Partner Center" fields of Microsoft's Salesforce connector ("Co-sell connector for Salesforce CRM -
 * overview"), under the API names its May 2020 setup guide printed (`Sync_with_Partner_Center__c`,
 * `Referral_Identifier__c`, `Referral_Link__c`, `How_can_Microsoft_help__c`, `Audit__c`), plus the ones the guide never
 * named, which are ours. An org that installed Microsoft's managed package may carry a namespace prefix on them
 * (UNCONFIRMED); the connector does not handle namespaced names.
 */

export const FIELDS = {
  syncWithPartnerCenter: 'Sync_with_Partner_Center__c',
  referralIdentifier: 'Referral_Identifier__c',
  referralLink: 'Referral_Link__c',
  howCanMicrosoftHelp: 'How_can_Microsoft_help__c',
  referralVisibility: 'Referral_Visibility__c',
  microsoftCrmIdentifier: 'Microsoft_CRM_Identifier__c',
  microsoftStatus: 'Microsoft_Status__c',
  audit: 'Audit__c',
  syncStatus: 'Sync_Status__c',
  declineReason: 'Decline_Reason__c',
  lossReason: 'Loss_Reason__c',
  microsoftSellerName: 'Microsoft_Seller_Name__c',
  microsoftSellerEmail: 'Microsoft_Seller_Email__c',
} as const;

/**
 * Why a co-sell referral is declined (sent as `statusReason` with `Closed/Declined`). Partner Center takes free text;
 * these values are ours (its UI's decline-reason list is UNCONFIRMED), the same as the Dynamics choice.
 */
export const DECLINE_REASON_VALUES = [
  'Not a fit for our solutions',
  'Customer not interested',
  'No capacity to engage',
  'Duplicate of an existing deal',
  'Other',
] as const;

/**
 * Why an opportunity was lost. Salesforce has no standard loss-reason field (Opportunity has none in the Object
 * Reference) and Microsoft's package published no API name for one, so this one is ours. Partner Center takes the
 * reason as free text (`statusReason`) and lists no lost reasons in its API documentation; the values are ours too, and
 * the mapping file's `lossReason` maps them (an org may add values: unknown ones are sent as their text).
 */
export const LOSS_REASON_VALUES = ['Lost to a competitor', 'Customer cancelled', 'No budget', 'No decision', 'Other'] as const;

/** Picklist API values; a picklist (rather than text) lets list views and reports filter the failures. */
export const SYNC_STATUS_VALUES = { synced: 'Synced', failed: 'Failed', pending: 'Pending', conflict: 'Conflict', paused: 'Paused' } as const;

/**
 * "How can Microsoft help?" — the six values of "Co-sell connector for Salesforce CRM - overview"; the picklist API
 * values are these labels.
 */
export const ASSISTANCE_VALUES = [
  'Workload specific value proposition',
  'Customer technical architecture',
  'Proof of concept or demo',
  'Quotes or licensing',
  'Post sales customer success',
  'General or other',
] as const;

export const AUDIT_MAX_LENGTH = 100_000;

export type ProvisionedSObject = 'Opportunity' | 'Lead';

export interface CustomFieldSpec {
  sobject: ProvisionedSObject;
  /** `Referral_Identifier__c` */
  fieldName: string;
  /** CustomField metadata as the Tooling API takes it (Tooling API "CustomField"). Labels are at most 40 characters. */
  metadata: Record<string, unknown>;
  /**
   * Picklist values the connector writes, which setup adds to an existing field that lacks them (one made by an earlier
   * release). Only for picklists whose values are ours; a customer's own values are never removed or relabelled.
   */
  requiredValues?: readonly string[];
}

const picklist = (values: readonly string[]): Record<string, unknown> => ({
  restricted: true,
  valueSetDefinition: { sorted: false, value: values.map((value) => ({ fullName: value, label: value, default: false })) },
});

function opportunityAndLead(fieldName: string, metadata: Record<string, unknown>): CustomFieldSpec[] {
  return [
    { sobject: 'Opportunity', fieldName, metadata },
    { sobject: 'Lead', fieldName, metadata },
  ];
}

export function customFieldSpecs(): CustomFieldSpec[] {
  return [
    ...opportunityAndLead(FIELDS.syncWithPartnerCenter, {
      label: 'Sync with Partner Center',
      type: 'Checkbox',
      // Metadata API's Checkbox default is text ("false"), not a JSON boolean.
      defaultValue: 'false',
      description: 'Checked: shared with Microsoft Partner Center. Referrals from Partner Center are checked.',
    }),
    ...opportunityAndLead(FIELDS.referralIdentifier, {
      label: 'Referral Identifier',
      type: 'Text',
      length: 100,
      // Unique makes the keyed create idempotent: a retried insert fails with DUPLICATE_VALUE instead of duplicating.
      externalId: true,
      unique: true,
      caseSensitive: false,
      description: 'Partner Center referral id (set by cosell-sync).',
    }),
    ...opportunityAndLead(FIELDS.referralLink, { label: 'Referral Link', type: 'Url', description: 'Link to the referral in Partner Center (set by cosell-sync).' }),
    {
      sobject: 'Opportunity',
      fieldName: FIELDS.howCanMicrosoftHelp,
      metadata: {
        label: 'How can Microsoft help?',
        type: 'Picklist',
        valueSet: picklist(ASSISTANCE_VALUES),
        description: 'Selecting a value makes this a co-sell opportunity (needs a customer contact).',
      },
    },
    {
      sobject: 'Opportunity',
      fieldName: FIELDS.referralVisibility,
      metadata: {
        label: 'MS Partner Center Referral Visibility',
        type: 'Checkbox',
        defaultValue: 'false',
        description: 'Visible to Microsoft sellers; cannot be reverted once visible.',
      },
    },
    {
      sobject: 'Opportunity',
      fieldName: FIELDS.microsoftCrmIdentifier,
      metadata: { label: 'Microsoft CRM Identifier', type: 'Text', length: 100, description: "Microsoft's CRM id, filled when Microsoft accepts a co-sell referral." },
    },
    {
      sobject: 'Opportunity',
      fieldName: FIELDS.microsoftStatus,
      metadata: { label: 'Microsoft Status', type: 'Text', length: 100, description: "Status of Microsoft's side of the co-sell engagement." },
    },
    ...opportunityAndLead(FIELDS.declineReason, {
      label: 'Decline Reason',
      type: 'Picklist',
      valueSet: picklist(DECLINE_REASON_VALUES),
      description: 'Why the co-sell referral is declined; sent to Partner Center with the decline.',
    }),
    {
      sobject: 'Opportunity',
      fieldName: FIELDS.lossReason,
      metadata: {
        label: 'Loss Reason',
        type: 'Picklist',
        valueSet: picklist(LOSS_REASON_VALUES),
        description: 'Why the opportunity was lost; synced with the Partner Center referral closed as lost.',
      },
    },
    {
      sobject: 'Opportunity',
      fieldName: FIELDS.microsoftSellerName,
      metadata: { label: 'Microsoft Seller Name', type: 'Text', length: 200, description: 'The Microsoft seller on the co-sell engagement, when Partner Center provides it.' },
    },
    {
      sobject: 'Opportunity',
      fieldName: FIELDS.microsoftSellerEmail,
      metadata: { label: 'Microsoft Seller Email', type: 'Email', description: "The Microsoft seller's e-mail, when Partner Center provides it." },
    },
    ...opportunityAndLead(FIELDS.audit, {
      label: 'Audit',
      type: 'LongTextArea',
      length: AUDIT_MAX_LENGTH,
      visibleLines: 4,
      description: 'Partner Center sync audit trail, newest first (written by cosell-sync).',
    }),
    ...opportunityAndLead(FIELDS.syncStatus, {
      label: 'Partner Center Sync Status',
      type: 'Picklist',
      valueSet: picklist(Object.values(SYNC_STATUS_VALUES)),
      description: 'Outcome of the last Partner Center sync.',
    }).map((spec) => ({ ...spec, requiredValues: Object.values(SYNC_STATUS_VALUES) })),
  ];
}
