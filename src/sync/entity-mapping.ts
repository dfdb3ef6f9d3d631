import type { ColumnRequest, CrmEntityName } from '../crm/connector.ts';
import type { FieldChange } from '../partner-center/json-patch.ts';
import type { Referral } from '../partner-center/model.ts';
import type { CanonicalRecord } from '../canonical-value.ts';
import type { LossReasonConversion } from './mapping/loss-reason.ts';
import type { MergeField, MergeInput, MergeResult } from './merge/index.ts';

/**
 * What the engine needs of a mapping for one CRM entity: which fields exist and how values cross between each side's
 * representation and the canonical one the merge compares.
 */
export interface EntityMapping {
  entity: CrmEntityName;
  fields: readonly MergeField[];
  /** CRM columns to read so that `crmToCanonical` has what it needs. */
  columns: readonly ColumnRequest[];
  /** Whether some field reads Microsoft's referral of the engagement (costs one more Partner Center read). */
  readsMicrosoftReferral: boolean;
  /** Why a deal was lost (the mapping file's `lossReason`), carried with a close as lost; absent when not mapped. */
  lossReason?: LossReasonConversion;
  /** The mapping file's `propagateContactRemovals`: a contact removed on one side is removed on the other (default: audited only). */
  propagateContactRemovals?: boolean;
  /** The mapping file's `syncContactsAndTeam`: contacts and the partner team are merged after creation (on unless the file says false). */
  syncContactsAndTeam?: boolean;
  referralToCanonical(referral: Referral, microsoftReferral?: Referral | null): CanonicalRecord;
  crmToCanonical(values: Record<string, unknown>): CanonicalRecord;
  canonicalToCrm(changes: CanonicalRecord): Record<string, unknown>;
  canonicalToReferralChanges(changes: CanonicalRecord, current?: Referral): FieldChange[];
}

/** The three-way merge as the engine calls it; injected so a test can observe or replace it. */
export type Merge = (input: MergeInput) => MergeResult;
