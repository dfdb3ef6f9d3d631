import type { CrmEntityName, CrmRecord, CustomerProfile, SyncStatusUpdate } from '../../crm/connector.ts';
import { isTerminal, type Referral } from '../../partner-center/model.ts';
import type { AuditEntry, SyncCommit } from '../../store/types.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { canonicalEquals } from '../mapping/canonical.ts';
import { draftReferral, type DraftProblem } from '../referral-body.ts';
import { WELL_KNOWN, type ConnectionSetup } from '../connection.ts';
import type { ReferralCreate } from '../../partner-center/model.ts';
import { recordAudit, type AuditStamp } from './audit-entries.ts';
import { crmCanonical, type HeldValue } from './crm-canonical.ts';

/** Which CRM entity a referral belongs in, or null when it should not be in the CRM (yet). */
export function entityFor(referral: Referral, connection: Pick<ConnectionSetup, 'mappings' | 'policy'>): CrmEntityName | null {
  if (isTerminal(referral)) return null;
  const accepted = referral.status === 'Active';
  const coSell = referral.type === 'Shared';
  if (accepted || coSell || referral.direction === 'Outgoing') return connection.mappings.opportunity ? 'opportunity' : null;
  return connection.policy.leads && connection.mappings.lead ? 'lead' : null;
}

/** The values a CRM record made from a referral starts with: what flows to the CRM, plus the link fields. */
export function crmCreateValues(mapping: EntityMapping, pc: CanonicalRecord, referralId: string): CanonicalRecord {
  const outbound: CanonicalRecord = {};
  for (const field of mapping.fields) {
    const value = pc[field.key];
    if (field.direction !== 'to-pc' && value !== undefined) outbound[field.key] = value;
  }
  outbound[WELL_KNOWN.referralId] = referralId;
  outbound[WELL_KNOWN.syncEnabled] = true;
  return outbound;
}

/** The sync status a record created from a referral starts with (✔, its first audit line and any `more`). */
export function createdStatus(referralId: string, now: Date = new Date(), more: readonly string[] = []): SyncStatusUpdate {
  return { ok: true, auditLines: [`${now.toISOString()} created from Partner Center referral ${referralId}`, ...more] };
}

/** What we just wrote is, field by field, what both sides hold: the base of a pair created in bulk. */
export function baseOfWritten(mapping: EntityMapping, written: CanonicalRecord | undefined): CanonicalRecord {
  const base: CanonicalRecord = {};
  for (const field of mapping.fields) {
    const value = written?.[field.key];
    if (value !== undefined) base[field.key] = value;
  }
  return base;
}

export interface CreatedPair {
  stamp: AuditStamp;
  referralId: string;
  eTag: string | undefined;
  record: CrmRecord;
  mapping: EntityMapping;
  /** Partner Center's values as canonical ones. */
  pc: CanonicalRecord;
  origin: 'pc' | 'crm';
  audit: readonly AuditEntry[];
  heldValue: HeldValue | undefined;
}

/**
 * The commit that links a pair the moment its second record exists, before any further call. Without it, a crash
 * between the create and the pair's first full commit leaves two records and no base, and the next run cannot tell a
 * seller's edit made meanwhile from a stale value: it relinked with the creating side as authoritative and overwrote
 * the edit. The base is what the records hold now, with the creating side (`origin`) authoritative where they differ,
 * exactly as a first link without a base decides: the field reads as changed on the origin side only, so that side's
 * value flows.
 */
export function createdLinkCommit(p: CreatedPair): SyncCommit {
  const crm = crmCanonical({ mapping: p.mapping, record: p.record, references: [p.pc], heldValue: p.heldValue });
  const base: CanonicalRecord = {};
  for (const { key } of p.mapping.fields) {
    const [pcValue, crmValue] = [p.pc[key], crm[key]];
    if (pcValue === undefined || crmValue === undefined) continue;
    base[key] = canonicalEquals(pcValue, crmValue) || p.origin === 'crm' ? pcValue : crmValue;
  }
  const { ref } = p.record;
  return {
    link: { connection: p.stamp.connection, referralId: p.referralId, crmEntity: ref.entity, crmId: ref.id, base, pcEtag: p.eTag ?? null, crmVersion: p.record.version, syncState: 'ok', lastError: null },
    audit: [...p.audit, recordAudit(p.stamp, { referralId: p.referralId, ref, outcome: 'linked', message: `linked (${p.origin === 'pc' ? 'from Partner Center' : 'from the CRM'})` })],
    holdConflicts: [],
    releaseConflicts: [],
  };
}

function towardPc(mapping: EntityMapping, crm: CanonicalRecord): CanonicalRecord {
  const out: CanonicalRecord = {};
  for (const field of mapping.fields) {
    const value = crm[field.key];
    if (field.direction !== 'to-crm' && value !== undefined) out[field.key] = value;
  }
  return out;
}

/** Whether the CRM deal asks for Microsoft's help: any "How can Microsoft help?" value but Unknown. */
export function assistanceRequested(crm: CanonicalRecord): boolean {
  const assistance = crm[WELL_KNOWN.assistance];
  return typeof assistance === 'string' ? assistance !== '' && assistance !== 'Unknown' : assistance !== null && assistance !== undefined;
}

/** The referral to create for a CRM deal that has none yet, or why Partner Center would reject it. */
export function referralDraftFor(input: {
  mapping: EntityMapping;
  crm: CanonicalRecord;
  crmId: string;
  customer: CustomerProfile | null;
  /** The deal's Microsoft Solutions; null when the CRM has no catalogue. */
  solutionIds: readonly string[] | null;
}): { body: ReferralCreate } | { problems: DraftProblem[] } {
  const { mapping, crm } = input;
  return draftReferral({
    crmId: input.crmId,
    changes: mapping.canonicalToReferralChanges(towardPc(mapping, crm)),
    customer: input.customer ?? { name: '', contacts: [] },
    assistanceRequested: assistanceRequested(crm),
    visibleToMicrosoft: crm[WELL_KNOWN.visibility] === true,
    solutionIds: input.solutionIds,
  });
}
