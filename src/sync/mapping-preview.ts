import type { CrmEntityName } from '../crm/connector.ts';
import type { FieldChange } from '../partner-center/json-patch.ts';
import type { Link, SyncState } from '../store/types.ts';
import type { CanonicalRecord, CanonicalValue } from '../canonical-value.ts';
import type { ConnectionSetup } from './connection.ts';
import type { SyncDirection } from './mapping/spec-schema.ts';
import { mergeRecord, type MergeConflict } from './merge/index.ts';
import type { ReferralsPort } from './ports.ts';

/** A preview asked for something the mapping or the store cannot answer (shown to the operator as it is). */
export class MappingPreviewError extends Error {
  override readonly name = 'MappingPreviewError';
}

export interface MappingPreviewRequest {
  connection: ConnectionSetup;
  referrals: Pick<ReferralsPort, 'get'>;
  /** The store's links (absent when there is no database yet: every record then previews as not linked). */
  sync: Pick<SyncState, 'getLink' | 'findLinkByCrm'> | undefined;
  /** Exactly one of the two. */
  referralId?: string | undefined;
  crm?: { entity: CrmEntityName; id: string } | undefined;
}

export interface MappingPreview {
  connection: string;
  referralId: string | null;
  crm: { entity: CrmEntityName; id: string } | null;
  linked: boolean;
  fields: Array<{ key: string; direction: SyncDirection; base: CanonicalValue | undefined; partnerCenter: CanonicalValue | undefined; crm: CanonicalValue | undefined }>;
  toCrm: Record<string, unknown>;
  toPartnerCenter: FieldChange[];
  conflicts: MergeConflict[];
}

/**
 * What a sync would do for one real record, writing nothing: both sides read now and mapped, merged against the
 * pair's base. What `cosell mapping preview` prints and the console's mapping view shows.
 */
export async function previewMapping(request: MappingPreviewRequest): Promise<MappingPreview> {
  const { connection, referrals, sync } = request;
  const name = connection.connector.name;
  let link: Link | null = null;
  let referralId = request.referralId;
  let crmRef = request.crm;
  if (crmRef) {
    link = (await sync?.findLinkByCrm(name, crmRef.entity, crmRef.id)) ?? null;
    referralId = link?.referralId;
  } else if (referralId) {
    link = (await sync?.getLink(name, referralId)) ?? null;
    if (link) crmRef = { entity: link.crmEntity as CrmEntityName, id: link.crmId };
  } else {
    throw new MappingPreviewError('give a referral id or a CRM record');
  }
  const entity = crmRef?.entity ?? 'opportunity';
  const bound = connection.mappings[entity];
  if (!bound) throw new MappingPreviewError(`the mapping has no ${entity} section`);
  const referral = referralId ? (await referrals.get(referralId)).referral : undefined;
  const record = crmRef ? await connection.connector.read(crmRef, bound.columns) : null;
  const pc: CanonicalRecord = referral ? bound.referralToCanonical(referral) : {};
  const crm: CanonicalRecord = record ? bound.crmToCanonical(record.values) : {};
  const plan = mergeRecord({
    fields: bound.fields,
    base: link?.base,
    pc,
    crm,
    pcChangedAt: typeof referral?.updatedDateTime === 'string' ? referral.updatedDateTime : undefined,
    crmChangedAt: record?.modifiedAt,
    origin: request.referralId ? 'pc' : 'crm',
  });
  return {
    connection: name,
    referralId: referralId ?? null,
    crm: crmRef ?? null,
    linked: link !== null,
    fields: bound.fields.map((f) => ({ key: f.key, direction: f.direction, base: link?.base[f.key], partnerCenter: pc[f.key], crm: crm[f.key] })),
    toCrm: bound.canonicalToCrm(plan.toCrm),
    toPartnerCenter: referral ? bound.canonicalToReferralChanges(plan.toPc, referral) : [],
    conflicts: plan.conflicts,
  };
}
