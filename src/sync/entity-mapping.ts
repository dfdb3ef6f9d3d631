import type { ColumnRequest, CrmEntityName } from '../crm/connector.ts';
import type { FieldChange } from '../partner-center/json-patch.ts';
import type { Referral } from '../partner-center/model.ts';
import type { CanonicalRecord } from '../store/types.ts';

export type FieldDirection = 'both' | 'to-crm' | 'to-pc';
export type ConflictPolicy = 'pc-wins' | 'crm-wins' | 'newest-wins' | 'manual';

export interface FieldRule {
  key: string;
  direction: FieldDirection;
  conflict: ConflictPolicy;
  /** Only synced when a pair is first linked (e.g. "Sync with Partner Center = Yes" on records created from PC). */
  linkOnly?: boolean;
}

/**
 * What the engine needs of a mapping for one CRM entity: which fields exist and how values cross between each side's
 * representation and the canonical one the merge compares.
 */
export interface EntityMapping {
  entity: CrmEntityName;
  fields: readonly FieldRule[];
  /** CRM columns to read so that `crmToCanonical` has what it needs. */
  columns: readonly ColumnRequest[];
  /** Whether some field reads Microsoft's referral of the engagement (costs one more Partner Center read). */
  readsMicrosoftReferral: boolean;
  referralToCanonical(referral: Referral, microsoftReferral?: Referral | null): CanonicalRecord;
  crmToCanonical(values: Record<string, unknown>): CanonicalRecord;
  canonicalToCrm(changes: CanonicalRecord): Record<string, unknown>;
  canonicalToReferralChanges(changes: CanonicalRecord, current?: Referral): FieldChange[];
}

export interface MergeResult {
  toCrm: CanonicalRecord;
  toPc: CanonicalRecord;
  nextBase: CanonicalRecord;
  conflicts: Array<{
    key: string;
    base: CanonicalRecord[string] | undefined;
    pc: CanonicalRecord[string] | undefined;
    crm: CanonicalRecord[string] | undefined;
    policy: ConflictPolicy;
    resolution: 'pc' | 'crm' | 'held';
  }>;
  held: string[];
}

export type Merge = (input: {
  fields: readonly FieldRule[];
  base: CanonicalRecord | undefined;
  pc: CanonicalRecord;
  crm: CanonicalRecord;
  pcChangedAt: string | undefined;
  crmChangedAt: string | undefined;
  pcFieldChangedAt?: Readonly<Record<string, string>>;
  crmFieldChangedAt?: Readonly<Record<string, string>>;
  origin: 'pc' | 'crm';
}) => MergeResult;
