import type { CrmConnector, CrmEntityName } from '../crm/connector.ts';
import type { NotifiedChangesReader } from '../crm/notifications.ts';
import type { EntityMapping } from './entity-mapping.ts';
import { NonRetryableSyncError } from './errors.ts';

/** Canonical keys the engine itself reads; every mapping file defines them (validated at start). */
export const WELL_KNOWN = {
  name: 'name',
  syncEnabled: 'syncWithPartnerCenter',
  referralId: 'referralId',
  assistance: 'howCanMicrosoftHelp',
  visibility: 'referralVisibility',
} as const;

export interface ConnectionPolicy {
  /** Microsoft's "Sync Co-sell opportunity" = No: unaccepted incoming leads become CRM leads too. */
  leads: boolean;
  /**
   * A referral has one "CRM ID" (externalReferenceId). With several CRM connections only one may write it; two
   * writers would overwrite each other's id forever, each write raising an event for the other.
   */
  ownsReferralCrmId: boolean;
}

export interface ConnectionSetup {
  connector: CrmConnector;
  mappings: Partial<Record<CrmEntityName, EntityMapping>>;
  policy: ConnectionPolicy;
  /** The vendor's reader of a stored notification's changed columns, where it has one: dates a change field by field. */
  notifiedChanges?: NotifiedChangesReader;
}

export function mappingFor(connection: ConnectionSetup, entity: string): EntityMapping {
  const mapping = connection.mappings[entity as CrmEntityName];
  if (!mapping) throw new NonRetryableSyncError(`the mapping has no section for CRM entity "${entity}"`);
  return mapping;
}
