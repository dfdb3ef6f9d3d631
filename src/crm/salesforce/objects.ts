import type { CrmEntityName } from '../connector.ts';

/** How a neutral entity lives in Salesforce: its sObject, key prefix and the fields the connector itself relies on. */
export interface SObjectInfo {
  entity: CrmEntityName;
  sobject: 'Opportunity' | 'Lead' | 'Account' | 'Contact';
  keyPrefix: string;
  /**
   * The field carrying the ✔/✖ indicator. Only the opportunity has one: a lead's `Name` is computed from the person's
   * name and its other text fields (Company, Title) are data the seller and the mapping own.
   */
  titleField?: 'Name';
  titleMaxLength?: number;
  /** The field behind the virtual `@state` column. */
  stateField?: 'StageName' | 'Status';
  /** Whether the custom sync fields (referral id, audit, sync status) exist on it. */
  referralTarget: boolean;
}

export const SOBJECTS: Readonly<Record<CrmEntityName, SObjectInfo>> = {
  opportunity: { entity: 'opportunity', sobject: 'Opportunity', keyPrefix: '006', titleField: 'Name', titleMaxLength: 120, stateField: 'StageName', referralTarget: true },
  lead: { entity: 'lead', sobject: 'Lead', keyPrefix: '00Q', stateField: 'Status', referralTarget: true },
  account: { entity: 'account', sobject: 'Account', keyPrefix: '001', referralTarget: false },
  contact: { entity: 'contact', sobject: 'Contact', keyPrefix: '003', referralTarget: false },
};

export function sobjectFor(entity: CrmEntityName): SObjectInfo {
  return SOBJECTS[entity];
}

/** The neutral entity of an sObject API name (`Opportunity` → `opportunity`), if the engine syncs it. */
export function entityOfSObject(sobject: string): CrmEntityName | undefined {
  const lower = sobject.toLowerCase();
  return (Object.values(SOBJECTS) as SObjectInfo[]).find((info) => info.sobject.toLowerCase() === lower)?.entity;
}

/** The `@state` values per entity (describe() reports them; the mapping's value maps must cover them). */
export const OPPORTUNITY_STATES = ['onhold', 'open', 'won', 'lost'] as const;
export type OpportunityState = (typeof OPPORTUNITY_STATES)[number];
export const LEAD_STATES = ['open', 'qualified', 'disqualified'] as const;
export type LeadState = (typeof LEAD_STATES)[number];

/**
 * Partner Center's open sales stages by their documented percentages ("Manage co-sell opportunities": Created / Accepted
 * 10 %, Qualified 20 %, Developed 40 %, Proposed 60 %, Negotiated 80 %): the values of the virtual `@salesStage`
 * column. Won (100 %) is the state's business (`@state` won), so a closed stage has no sales stage.
 */
export const SALES_STAGE_PERCENTAGES = [10, 20, 40, 60, 80] as const;
export type SalesStagePercentage = (typeof SALES_STAGE_PERCENTAGES)[number];
