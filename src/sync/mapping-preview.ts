import type { CrmEntityName, CustomerProfile, CustomerRefs } from '../crm/connector.ts';
import type { FieldChange } from '../partner-center/json-patch.ts';
import type { Link, SyncState } from '../store/types.ts';
import type { CanonicalRecord, CanonicalValue } from '../canonical-value.ts';
import type { Referral } from '../partner-center/model.ts';
import type { ConnectionSetup } from './connection.ts';
import type { SyncDirection } from './mapping/spec-schema.ts';
import { mergeRecord, type MergeConflict } from './merge/index.ts';
import type { ReferralsPort } from './ports.ts';
import { createdStatus, crmCreateValues, entityFor } from './plan/create-plans.ts';
import { customerFromReferral } from './plan/crm-canonical.ts';
import { microsoftSideOf } from './run/engagement.ts';

/** A preview asked for something the mapping or the store cannot answer (shown to the operator as it is). */
export class MappingPreviewError extends Error {
  override readonly name = 'MappingPreviewError';
}

export interface MappingPreviewRequest {
  connection: ConnectionSetup;
  /** `listPage` reads Microsoft's side of a co-sell engagement, as the create does where the mapping uses it. */
  referrals: Pick<ReferralsPort, 'get' | 'listPage'>;
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
  /** The referral's real Partner Center status (null without a referral). */
  partnerCenterStatus: { status: string | null; substatus: string | null } | null;
  /**
   * What creating the CRM record would write, when the referral has none yet: the columns exactly as the connector's
   * create builds them (mapped fields, fixed and default columns, customer lookups, Sync = Yes, status columns).
   * `entity` null with a `reason` when the sync would not create one.
   */
  create: PreviewCreate | null;
  toCrm: Record<string, unknown>;
  toPartnerCenter: FieldChange[];
  conflicts: MergeConflict[];
}

export interface PreviewCreate {
  entity: CrmEntityName | null;
  reason?: string;
  columns: Record<string, unknown>;
  /** Columns whose value is the customer record matched (by name and postal code / e-mail) or created at create time. */
  customerColumns: string[];
  customer: { name: string; contacts: string[] } | null;
}

/**
 * Stand-ins for the customer records the create matches or creates (the preview must write nothing, so it neither
 * looks them up through `ensureCustomer` nor creates them): the connector places them where the real ids would go.
 */
const CUSTOMER_PLACEHOLDER = '<customer-account>';
const CONTACT_PLACEHOLDER = '<customer-contact>';
function placeholderCustomer(profile: CustomerProfile): CustomerRefs {
  return {
    account: { entity: 'account', id: CUSTOMER_PLACEHOLDER },
    contacts: profile.contacts.length > 0 ? [{ entity: 'contact', id: CONTACT_PLACEHOLDER }] : [],
    created: [],
  };
}

/** The create a sync would send for an unlinked referral, built by the connector's own create code. */
export async function previewCreate(input: {
  connection: ConnectionSetup;
  referrals: Pick<ReferralsPort, 'listPage'>;
  referral: Referral;
  referralId: string;
  now?: Date;
}): Promise<PreviewCreate> {
  const { connection, referrals, referral, referralId, now } = input;
  const entity = entityFor(referral, connection);
  if (!entity) return { entity: null, reason: 'the sync would not create a CRM record for this referral (closed, or a lead while leads are off)', columns: {}, customerColumns: [], customer: null };
  const mapping = connection.mappings[entity];
  if (!mapping) throw new MappingPreviewError(`the mapping has no ${entity} section`);
  const { connector } = connection;
  if (!connector.previewCreate) throw new MappingPreviewError(`the ${connector.kind} connector cannot show its create`);
  const values = mapping.canonicalToCrm(crmCreateValues(mapping, mapping.referralToCanonical(referral, await microsoftSideOf(referrals, referral, mapping)), referralId));
  const profile = customerFromReferral(referral);
  const columns = await connector.previewCreate(entity, referralId, values, placeholderCustomer(profile), createdStatus(referralId, now));
  const customerColumns = Object.entries(columns)
    .filter(([, value]) => typeof value === 'string' && (value.includes(CUSTOMER_PLACEHOLDER) || value.includes(CONTACT_PLACEHOLDER)))
    .map(([column]) => column);
  return {
    entity,
    columns,
    customerColumns,
    customer: { name: profile.name, contacts: profile.contacts.map((c) => c.email ?? [c.firstName, c.lastName].filter(Boolean).join(' ')) },
  };
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
  const referral = referralId ? (await referrals.get(referralId)).referral : undefined;
  const entity = crmRef?.entity ?? (referral ? (entityFor(referral, connection) ?? 'opportunity') : 'opportunity');
  const bound = connection.mappings[entity];
  if (!bound) throw new MappingPreviewError(`the mapping has no ${entity} section`);
  const record = crmRef ? await connection.connector.read(crmRef, bound.columns) : null;
  // With Microsoft's side of a co-sell engagement where the mapping uses it, as the sync reads it.
  const pc: CanonicalRecord = referral ? bound.referralToCanonical(referral, await microsoftSideOf(referrals, referral, bound)) : {};
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
    partnerCenterStatus: referral ? { status: referral.status ?? null, substatus: referral.substatus ?? null } : null,
    create: referral && referralId && !link && !record ? await previewCreate({ connection, referrals, referral, referralId }) : null,
    toCrm: bound.canonicalToCrm(plan.toCrm),
    toPartnerCenter: referral ? bound.canonicalToReferralChanges(plan.toPc, referral) : [],
    conflicts: plan.conflicts,
  };
}
