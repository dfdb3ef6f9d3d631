import {
  CrmPreconditionFailedError,
  type CrmConnector,
  type CrmEntityName,
  type CrmRecord,
  type CrmRecordRef,
  type CustomerProfile,
} from '../crm/connector.ts';
import { PartnerCenterApiError } from '../partner-center/api-error.ts';
import { canTransition, isTerminal, type Referral } from '../partner-center/model.ts';
import { ReferralNotFoundError, type ReferralsClient } from '../partner-center/referrals-client.ts';
import type { AuditEntry, HeldConflict, Job, Link, Store } from '../store/types.ts';
import { KeyedLock } from '../util/keyed-lock.ts';
import type { Logger } from '../util/logger.ts';
import type { EntityMapping, Merge } from './entity-mapping.ts';
import type { MergeResult } from './merge/index.ts';
import { NonRetryableSyncError } from './errors.ts';
import { canonicalEquals } from './mapping/canonical.ts';
import { changedColumns } from '../crm/dynamics/webhook.ts';
import { isMicrosoftReferral, PartnerOrganization } from './engagement-sides.ts';
import { draftReferral } from './referral-body.ts';
import { AUDIT_COLUMN_ENTRIES, auditLines } from './audit-lines.ts';
import type { JobHandler } from './worker.ts';
import { baseAfterUnfinishedSync } from './write-intent.ts';
import type { CanonicalRecord, CanonicalValue } from '../canonical-value.ts';

/** Canonical keys the engine itself reads; every mapping file defines them (validated at start). */
export const WELL_KNOWN = {
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
}

export interface PairSyncDeps {
  store: Store;
  referrals: ReferralsClient;
  connections: ReadonlyMap<string, ConnectionSetup>;
  merge: Merge;
  logger: Logger;
  /** Re-plans after a 412 on either side before giving the job back to the worker's backoff. */
  maxReplans?: number;
  /** The partner's own organization (default: learned through `referrals`, kept in the store). */
  organization?: PartnerOrganization;
}

const isEmpty = (record: CanonicalRecord): boolean => Object.keys(record).length === 0;

/** A field change's path as `a/b`, whichever form (segments, pointer, dotted) the mapping produced. */
const pathOf = (path: readonly string[] | string): string =>
  (typeof path === 'string' ? path.replace(/^\//, '').replaceAll('.', '/') : path.join('/'));

function isPreconditionFailure(error: unknown): boolean {
  return error instanceof CrmPreconditionFailedError || (error instanceof PartnerCenterApiError && error.status === 412);
}

/**
 * The CRM record's values as canonical ones, where a value the CRM had to shorten (a long name cut to fit next to the
 * ✔ mark) reads as the full value it was cut from: the cut is the CRM's limit, not a seller's edit, and must never flow
 * back over Partner Center (and from there over another CRM). `references` are the values it may have been cut from:
 * Partner Center's now and the base.
 */
function crmCanonical(
  connector: CrmConnector,
  mapping: EntityMapping,
  record: CrmRecord,
  references: ReadonlyArray<CanonicalRecord | undefined>,
): CanonicalRecord {
  const crm = mapping.crmToCanonical(record.values);
  const held = connector.heldValue?.bind(connector);
  if (!held) return crm;
  for (const { key } of mapping.fields) {
    const have = crm[key];
    if (typeof have !== 'string') continue;
    for (const reference of references) {
      const full = reference?.[key];
      if (typeof full !== 'string' || full === have || !full.startsWith(have)) continue;
      const written = mapping.canonicalToCrm({ [key]: full });
      const stored = Object.fromEntries(Object.entries(written).map(([column, value]) => [column, held(record.ref.entity, column, value)]));
      if (canonicalEquals(mapping.crmToCanonical(stored)[key] ?? null, have)) {
        crm[key] = full;
        break;
      }
    }
  }
  return crm;
}

function customerFromReferral(referral: Referral): CustomerProfile {
  const profile = referral.customerProfile;
  const address = profile?.address;
  return {
    name: profile?.name ?? '',
    postalCode: address?.postalCode ?? undefined,
    addressLine1: address?.addressLine1 ?? undefined,
    city: address?.city ?? undefined,
    state: address?.state ?? undefined,
    country: address?.country ?? undefined,
    contacts: (profile?.team ?? []).map((m) => ({
      firstName: m.firstName ?? undefined,
      lastName: m.lastName ?? undefined,
      email: m.email ?? undefined,
      phone: m.phoneNumber ?? undefined,
    })),
  };
}

/**
 * Syncs one linked pair: read both sides now, map to canonical values, three-way merge against the stored base, write
 * only what changed (with optimistic concurrency), then commit base, link and audit in one transaction. Events are
 * hints: nothing from a notification payload is used, so duplicated, stale or reordered events converge.
 */
export class PairSync {
  private readonly maxReplans: number;
  /**
   * "Create or get customer account" is a read then a create: two syncs for the same new customer at once would both
   * miss the account and both create one. Serialised per connection and company name (case-insensitive, as the CRMs
   * match it; coarser than name + postal code, so never too fine), the second finds the first one's account.
   */
  private readonly customerLock = new KeyedLock();

  private readonly organization: PartnerOrganization;

  constructor(private readonly deps: PairSyncDeps) {
    this.maxReplans = deps.maxReplans ?? 3;
    this.organization = deps.organization ?? new PartnerOrganization(deps.referrals, deps.store.sync);
  }

  readonly handler: JobHandler = async (job) => {
    const connection = this.deps.connections.get(job.connection);
    if (!connection) throw new NonRetryableSyncError(`no connection named "${job.connection}" is configured`);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.syncOnce(job, connection);
        return;
      } catch (error) {
        if (!isPreconditionFailure(error) || attempt >= this.maxReplans) throw error;
        this.deps.logger.debug({ job: job.key, attempt }, 'record changed while syncing; re-reading and re-planning');
      }
    }
  };

  private async syncOnce(job: Job, connection: ConnectionSetup): Promise<void> {
    const { store } = this.deps;
    const name = connection.connector.name;
    const link =
      job.referralId !== null
        ? store.sync.getLink(name, job.referralId)
        : job.crmEntity !== null && job.crmId !== null
          ? store.sync.findLinkByCrm(name, job.crmEntity, job.crmId)
          : null;
    const referralId = link?.referralId ?? job.referralId;
    if (referralId !== null) return this.syncFromReferral(referralId, link, job, connection);
    if (job.crmEntity !== null && job.crmId !== null) {
      return this.syncFromCrm({ entity: job.crmEntity as CrmEntityName, id: job.crmId }, job, connection);
    }
    throw new NonRetryableSyncError(`job ${job.key} names neither a referral nor a CRM record`);
  }

  /**
   * First-run backfill through a connector's bulk API: unlinked referrals that belong in the CRM are created in
   * batches (customers first) and linked at once, so thousands of existing referrals cost a few calls per 200 instead
   * of several per referral. Returns the referrals it linked; everything else is left to normal jobs. The referrals
   * come from the reconciler's listing, so this costs no Partner Center reads; Microsoft's side of co-sell deals is
   * filled by the pair's next sync.
   */
  async backfill(connectionName: string, referrals: readonly Referral[], cause: Job['cause'] = 'reconcile'): Promise<Set<string>> {
    const connection = this.deps.connections.get(connectionName);
    const connector = connection?.connector;
    const linked = new Set<string>();
    if (!connection || !connector?.createManyForReferrals || !connector.ensureCustomers) return linked;
    const ensureCustomers = connector.ensureCustomers.bind(connector);
    const byEntity = new Map<CrmEntityName, Referral[]>();
    for (const referral of referrals) {
      if (typeof referral.id !== 'string' || this.deps.store.sync.getLink(connector.name, referral.id)) continue;
      const entity = this.entityFor(referral, connection);
      if (entity) byEntity.set(entity, [...(byEntity.get(entity) ?? []), referral]);
    }
    const job: Job = { key: `${connector.name}:backfill`, connection: connector.name, referralId: null, crmEntity: null, crmId: null, cause, microsoftSide: true, generation: 0, attempts: 0, lastError: null };
    for (const [entity, group] of byEntity) {
      const mapping = this.mappingFor(connection, entity);
      const profiles = group.map(customerFromReferral);
      const customers = await this.customerLock.runAll(
        profiles.map((profile) => this.customerKey(connector, profile)),
        () => ensureCustomers(profiles),
      );
      const canonical = group.map((referral) => {
        const pc = mapping.referralToCanonical(referral, null);
        const outbound: CanonicalRecord = {};
        for (const field of mapping.fields) if (field.direction !== 'to-pc' && pc[field.key] !== undefined) outbound[field.key] = pc[field.key] ?? null;
        outbound[WELL_KNOWN.referralId] = referral.id as string;
        outbound[WELL_KNOWN.syncEnabled] = true;
        return outbound;
      });
      this.deps.store.sync.recordIntents(
        group.map((referral, i) => ({ connection: connector.name, referralId: referral.id as string, crmEntity: entity, base: canonical[i] ?? {}, toCrm: {}, toPc: {} })),
      );
      const results = await connector.createManyForReferrals(
        entity,
        group.map((referral, i) => ({
          referralId: referral.id as string,
          values: mapping.canonicalToCrm(canonical[i] ?? {}),
          customer: customers[i],
          status: { ok: true, auditLines: [`${new Date().toISOString()} created from Partner Center referral ${String(referral.id)} (backfill)`] },
        })),
      );
      results.forEach((result, i) => {
        const referral = group[i];
        if (!referral || result.outcome !== 'created' || !result.ref) return;
        // What we just wrote is, field by field, what both sides hold: the base. No read back, no version yet.
        const base: CanonicalRecord = {};
        for (const field of mapping.fields) {
          const value = canonical[i]?.[field.key];
          if (value !== undefined) base[field.key] = value;
        }
        this.deps.store.sync.commit({
          link: { connection: connector.name, referralId: referral.id as string, crmEntity: entity, crmId: result.ref.id, base, pcEtag: typeof referral.eTag === 'string' ? referral.eTag : null, crmVersion: null, syncState: 'ok', lastError: null },
          audit: [this.auditEntry(job, connection, referral.id as string, result.ref, { direction: 'to-crm', outcome: 'created', message: `${entity} created from referral (backfill)` })],
          holdConflicts: [],
          releaseConflicts: [],
        });
        linked.add(referral.id as string);
      });
    }
    return linked;
  }

  private customerKey(connector: CrmConnector, profile: CustomerProfile): string {
    return `${connector.name}:${profile.name.trim().toLowerCase()}`;
  }

  /** Which CRM entity a referral belongs in, or null when it should not be in the CRM (yet). */
  private entityFor(referral: Referral, connection: ConnectionSetup): CrmEntityName | null {
    if (isTerminal(referral)) return null;
    const accepted = referral.status === 'Active';
    const coSell = referral.type === 'Shared';
    if (accepted || coSell || referral.direction === 'Outgoing') return connection.mappings.opportunity ? 'opportunity' : null;
    return connection.policy.leads && connection.mappings.lead ? 'lead' : null;
  }

  private mappingFor(connection: ConnectionSetup, entity: string): EntityMapping {
    const mapping = connection.mappings[entity as CrmEntityName];
    if (!mapping) throw new NonRetryableSyncError(`the mapping has no section for CRM entity "${entity}"`);
    return mapping;
  }

  private async syncFromReferral(referralId: string, link: Link | null, job: Job, connection: ConnectionSetup): Promise<void> {
    const { referrals } = this.deps;
    const connector = connection.connector;
    // A linked pair's two reads are independent: run them together, halving the sync's latency.
    const linkedMapping = link ? this.mappingFor(connection, link.crmEntity) : undefined;
    const [read, linkedRecord] = await Promise.all([
      referrals.get(referralId).catch((error: unknown) => {
        if (error instanceof ReferralNotFoundError) return null;
        throw error;
      }),
      link && linkedMapping ? connector.read({ entity: link.crmEntity as CrmEntityName, id: link.crmId }, linkedMapping.columns) : undefined,
    ]);
    if (read === null) {
      if (link) this.recordFailure(link, job, 'the referral no longer exists in Partner Center');
      return;
    }
    const current: { referral: Referral; eTag: string | undefined } = { referral: read.referral, eTag: read.eTag };
    const { referral } = current;
    // A notification may name Microsoft's referral (or another partner's) in the engagement rather than the partner's:
    // that referral is never linked nor written; the partner's own referral of the engagement is synced instead.
    if (!link && !(await this.organization.isOwn(referral))) {
      await this.redirectToPartnersReferral(referral, job, connection);
      return;
    }
    // Neither side changed since our last commit (typically the echo of our own write): the merge would find nothing.
    // A write intent left behind means the last sync never committed: always merge then. Microsoft's referral may have
    // changed without either record changing (related-referral-*): then it has to be read.
    if (
      link &&
      linkedRecord &&
      !(job.microsoftSide && linkedMapping?.readsMicrosoftReferral) &&
      link.syncState === 'ok' &&
      !this.deps.store.sync.getIntent(link.connection, link.referralId, link.crmEntity) &&
      // An operator's resolution of a held conflict waits to be written even though neither record changed.
      !this.deps.store.sync.conflicts(link.connection).some((c) => c.referralId === link.referralId && c.resolution) &&
      link.pcEtag !== null &&
      link.pcEtag === current.eTag &&
      link.crmVersion !== null &&
      link.crmVersion === linkedRecord.version
    ) {
      return;
    }

    if (link && link.crmEntity === 'lead' && this.entityFor(referral, connection) === 'opportunity') {
      await this.promoteLead(referral, current.eTag, link, job, connection);
      return;
    }

    let record: CrmRecord | null;
    let mapping: EntityMapping;
    if (link && linkedMapping) {
      mapping = linkedMapping;
      record = linkedRecord ?? null;
      if (!record) {
        this.recordFailure(link, job, `the linked ${link.crmEntity} ${link.crmId} no longer exists in the CRM`);
        return;
      }
    } else {
      const entity = this.entityFor(referral, connection);
      if (entity === null) {
        this.deps.logger.debug({ referralId, status: referral.status }, 'referral not synced to the CRM (closed, or a lead while leads are off)');
        return;
      }
      mapping = this.mappingFor(connection, entity);
      // A crash after the keyed create but before the link commit leaves a record we must find, not duplicate.
      record = await connector.findByReferralId(entity, referralId, mapping.columns);
      if (!record && referral.externalReferenceId) {
        record = await connector.read({ entity, id: referral.externalReferenceId }, mapping.columns);
      }
      if (!record) {
        await this.createInCrm(referral, current.eTag, entity, mapping, job, connection);
        return;
      }
    }
    // A first link of two existing records: a referral made from this very record (ours, carrying its id as "CRM ID")
    // started in the CRM, so the CRM is authoritative, not the side this job happened to start from.
    const madeFromRecord =
      referral.direction === 'Outgoing' &&
      typeof referral.externalReferenceId === 'string' &&
      referral.externalReferenceId.toLowerCase() === record.ref.id.toLowerCase();
    await this.reconcilePair(referral, current.eTag, record, mapping, link, job, connection, link === null && madeFromRecord ? 'crm' : 'pc');
  }

  /**
   * An accepted lead becomes an opportunity, as in Microsoft's connector: the lead is brought up to date (its state
   * follows the referral to qualified) and an opportunity is created for the referral, which the link then follows.
   * The create is keyed by the referral id, so a crash between the two steps cannot make a second opportunity.
   */
  private async promoteLead(referral: Referral, eTag: string | undefined, link: Link, job: Job, connection: ConnectionSetup): Promise<void> {
    const leadMapping = this.mappingFor(connection, 'lead');
    const lead = await connection.connector.read({ entity: 'lead', id: link.crmId }, leadMapping.columns);
    if (lead) await this.reconcilePair(referral, eTag, lead, leadMapping, link, job, connection, 'pc');
    const opportunityMapping = this.mappingFor(connection, 'opportunity');
    const existing = await connection.connector.findByReferralId('opportunity', referral.id as string, opportunityMapping.columns);
    const promoted: AuditEntry = this.auditEntry(job, connection, referral.id as string, { entity: 'lead', id: link.crmId }, {
      direction: 'to-crm',
      outcome: 'written',
      message: 'referral accepted: lead promoted to an opportunity',
    });
    const fresh = await this.deps.referrals.get(referral.id as string);
    if (existing) {
      await this.reconcilePair(fresh.referral, fresh.eTag, existing, opportunityMapping, null, job, connection, 'pc', [promoted]);
    } else {
      await this.createInCrm(fresh.referral, fresh.eTag, 'opportunity', opportunityMapping, job, connection, [promoted]);
    }
  }

  private async createInCrm(
    referral: Referral,
    eTag: string | undefined,
    entity: CrmEntityName,
    mapping: EntityMapping,
    job: Job,
    connection: ConnectionSetup,
    audit: AuditEntry[] = [],
  ): Promise<void> {
    const connector = connection.connector;
    const referralId = referral.id as string;
    const pc = mapping.referralToCanonical(referral, await this.microsoftSide(referral, mapping));
    const outbound: CanonicalRecord = {};
    for (const field of mapping.fields) {
      const value = pc[field.key];
      if (field.direction !== 'to-pc' && value !== undefined) outbound[field.key] = value;
    }
    outbound[WELL_KNOWN.referralId] = referralId;
    outbound[WELL_KNOWN.syncEnabled] = true;
    const profile = customerFromReferral(referral);
    const customer = await this.customerLock.run(this.customerKey(connector, profile), () => connector.ensureCustomer(profile));
    this.deps.store.sync.recordIntents([{ connection: connector.name, referralId, crmEntity: entity, base: outbound, toCrm: {}, toPc: {} }]);
    const created = await connector.createForReferral(
      entity,
      referralId,
      mapping.canonicalToCrm(outbound),
      customer,
      mapping.columns,
      { ok: true, auditLines: [`${new Date().toISOString()} created from Partner Center referral ${referralId}`] },
    );
    const createdAudit: AuditEntry[] = [
      ...audit,
      ...customer.created.map((ref) => this.auditEntry(job, connection, referralId, ref, { outcome: 'created', message: `customer ${ref.entity} created` })),
      this.auditEntry(job, connection, referralId, created.ref, {
        direction: 'to-crm',
        outcome: 'created',
        message: `${entity} created from referral`,
      }),
    ];
    const link = this.linkCreatedPair(referral, eTag, created, mapping, pc, job, connection, 'pc', createdAudit);
    await this.reconcilePair(referral, eTag, created, mapping, link, job, connection, 'pc');
  }

  private async syncFromCrm(ref: CrmRecordRef, job: Job, connection: ConnectionSetup): Promise<void> {
    if (ref.entity !== 'opportunity') return; // Microsoft's connector sends opportunities, not leads, to Partner Center
    const connector = connection.connector;
    const mapping = this.mappingFor(connection, ref.entity);
    const record = await connector.read(ref, mapping.columns);
    if (!record) return;
    // Unlinked and last written by us: that write was our own ✖ status, so nothing a seller did is waiting. Without
    // this, the echo of the status write would re-validate and write the status again, forever.
    if (record.modifiedByUs) return;
    const crm = mapping.crmToCanonical(record.values);
    if (crm[WELL_KNOWN.syncEnabled] !== true) return; // Sync with Partner Center = No: never sent

    const knownReferral = crm[WELL_KNOWN.referralId];
    if (typeof knownReferral === 'string' && knownReferral !== '') {
      return this.syncFromReferral(knownReferral, null, job, connection);
    }
    // A crash after creating the referral but before writing its id back: find it by our CRM id.
    const existing = await this.findReferralByExternalId(record.ref.id);
    if (existing) return this.syncFromReferral(existing, null, job, connection);

    const customer = await connector.readCustomer(ref);
    const assistance = crm[WELL_KNOWN.assistance];
    const draft = draftReferral({
      crmId: record.ref.id,
      changes: mapping.canonicalToReferralChanges(this.outboundToPc(mapping, crm)),
      customer: customer ?? { name: '', contacts: [] },
      assistanceRequested: typeof assistance === 'string' ? assistance !== '' && assistance !== 'Unknown' : assistance !== null && assistance !== undefined,
      visibleToMicrosoft: crm[WELL_KNOWN.visibility] === true,
    });
    if ('problems' in draft) {
      const reasons = draft.problems.map((p) => `${p.field}: ${p.reason}`);
      const failures = reasons.map((reason) =>
        this.auditEntry(job, connection, null, ref, { direction: 'to-pc', outcome: 'failed', message: `not sent to Partner Center: ${reason}` }),
      );
      const history = this.deps.store.sync.audit({ connection: connector.name, crmId: ref.id, limit: AUDIT_COLUMN_ENTRIES });
      await connector.writeSyncStatus(ref, { ok: false, auditLines: auditLines(failures, history) });
      this.deps.store.sync.appendAudit(failures);
      return;
    }
    // Announced with its idempotency key before the POST: a crash before the link commits repeats the create with the
    // same MS-RequestId, which Partner Center answers with the referral the first attempt made. Finding it by "CRM ID"
    // (above) is not enough: with several CRMs, another connection's record may be the one that field names.
    const requestId = this.deps.store.sync.createKey(connector.name, ref.entity, ref.id);
    const created = await this.deps.referrals.create(draft.body, { requestId });
    this.organization.learn(created.organizationId);
    const audit = [
      this.auditEntry(job, connection, created.id as string, ref, { direction: 'to-pc', outcome: 'created', message: 'referral created from CRM record' }),
    ];
    const reread = await this.deps.referrals.get(created.id as string);
    const pc = mapping.referralToCanonical(reread.referral);
    const link = this.linkCreatedPair(reread.referral, reread.eTag, record, mapping, pc, job, connection, 'crm', audit);
    await this.reconcilePair(reread.referral, reread.eTag, record, mapping, link, job, connection, 'crm');
  }

  /**
   * Links a pair the moment its second record exists, before any further call. Without it, a crash between the create
   * and the pair's first full commit leaves two records and no base, and the next run cannot tell a seller's edit made
   * meanwhile from a stale value: it relinked with the creating side as authoritative and overwrote the edit. The base
   * is what the records hold now, with the creating side (`origin`) authoritative where they differ, exactly as a
   * first link without a base decides: the field reads as changed on the origin side only, so that side's value flows.
   */
  private linkCreatedPair(
    referral: Referral,
    eTag: string | undefined,
    record: CrmRecord,
    mapping: EntityMapping,
    pc: CanonicalRecord,
    job: Job,
    connection: ConnectionSetup,
    origin: 'pc' | 'crm',
    audit: AuditEntry[],
  ): Link {
    const { store } = this.deps;
    const name = connection.connector.name;
    const referralId = referral.id as string;
    const crm = crmCanonical(connection.connector, mapping, record, [pc]);
    const base: CanonicalRecord = {};
    for (const { key } of mapping.fields) {
      const [pcValue, crmValue] = [pc[key], crm[key]];
      if (pcValue === undefined || crmValue === undefined) continue;
      base[key] = canonicalEquals(pcValue, crmValue) || origin === 'crm' ? pcValue : crmValue;
    }
    store.sync.commit({
      link: { connection: name, referralId, crmEntity: record.ref.entity, crmId: record.ref.id, base, pcEtag: eTag ?? null, crmVersion: record.version, syncState: 'ok', lastError: null },
      audit: [...audit, this.auditEntry(job, connection, referralId, record.ref, { outcome: 'linked', message: `linked (${origin === 'pc' ? 'from Partner Center' : 'from the CRM'})` })],
      holdConflicts: [],
      releaseConflicts: [],
    });
    const link = store.sync.getLink(name, referralId);
    if (!link) throw new Error(`the link of referral ${referralId} was not stored`);
    return link;
  }

  /**
   * Microsoft's own referral in a co-sell engagement carries its side of the deal (Microsoft's CRM id and status).
   * Read only when the mapping uses it and the deal is shared: one more Partner Center call for co-sell pairs.
   */
  private async microsoftSide(referral: Referral, mapping: EntityMapping): Promise<Referral | null | undefined> {
    if (!mapping.readsMicrosoftReferral) return undefined;
    if (referral.type !== 'Shared' || typeof referral.engagementId !== 'string') return null;
    const engaged = await this.engagement(referral.engagementId);
    // Microsoft's by what identifies Microsoft; another partner's referral (partner-to-partner) is never "Microsoft's side".
    return engaged.find((r) => r.id !== referral.id && isMicrosoftReferral(r)) ?? null;
  }

  private async engagement(engagementId: string): Promise<Referral[]> {
    const escaped = engagementId.replaceAll("'", "''");
    return (await this.deps.referrals.listPage({ filter: `engagementId eq '${escaped}'` })).referrals;
  }

  /**
   * The job named a referral that is not the partner's (Microsoft's side, or another partner's in a partner-to-partner
   * engagement): its change concerns the partner's referral of the same engagement, which is queued with Microsoft's
   * side to be re-read (a job of its own, so that pair is still synced one at a time). Nothing is written here.
   */
  private async redirectToPartnersReferral(foreign: Referral, job: Job, connection: ConnectionSetup): Promise<void> {
    const engagementId = foreign.engagementId;
    const partners: Referral[] = [];
    if (typeof engagementId === 'string' && engagementId !== '') {
      for (const r of await this.engagement(engagementId)) if (r.id !== foreign.id && typeof r.id === 'string' && (await this.organization.isOwn(r))) partners.push(r);
    }
    this.deps.logger.info(
      { referralId: foreign.id, organizationId: foreign.organizationId, partnerReferrals: partners.map((r) => r.id) },
      "notification named a referral that is not the partner's; syncing the partner's referral of the engagement instead",
    );
    if (partners.length === 0) return;
    await this.deps.store.jobs.enqueue(partners.map((r) => ({ connection: connection.connector.name, cause: job.cause, referralId: r.id as string, microsoftSide: true })));
  }

  private outboundToPc(mapping: EntityMapping, crm: CanonicalRecord): CanonicalRecord {
    const out: CanonicalRecord = {};
    for (const field of mapping.fields) {
      const value = crm[field.key];
      if (field.direction !== 'to-crm' && value !== undefined) out[field.key] = value;
    }
    return out;
  }

  private async findReferralByExternalId(crmId: string): Promise<string | null> {
    const escaped = crmId.replaceAll("'", "''");
    const page = await this.deps.referrals.listPage({ filter: `externalReferenceId eq '${escaped}'`, top: 1 });
    const id = page.referrals[0]?.id;
    return typeof id === 'string' ? id : null;
  }

  /** The merge and its writes, shared by every path once both sides exist. */
  private async reconcilePair(
    referral: Referral,
    eTag: string | undefined,
    record: CrmRecord,
    mapping: EntityMapping,
    link: Link | null,
    job: Job,
    connection: ConnectionSetup,
    origin: 'pc' | 'crm',
    audit: AuditEntry[] = [],
  ): Promise<void> {
    const { store, referrals, merge } = this.deps;
    const connector = connection.connector;
    const referralId = referral.id as string;
    // A linked pair's Microsoft-side fields keep their base unless the notification could concern Microsoft's referral.
    const microsoft = link && !job.microsoftSide ? undefined : await this.microsoftSide(referral, mapping);
    const pc = mapping.referralToCanonical(referral, microsoft);
    const crm = crmCanonical(connector, mapping, record, [pc, link?.base]);
    // The link fields are ours: they always follow the pair, whatever the merge would say.
    pc[WELL_KNOWN.referralId] = referralId;
    const base = baseAfterUnfinishedSync(link?.base, store.sync.getIntent(connector.name, referralId, record.ref.entity), { pc, crm });
    // A value one of our syncs wrote to Partner Center (from this or another CRM) changed when that CRM edit was made,
    // not when we wrote it: otherwise our own write would look like the newest edit and beat a later real one.
    const pcFieldChangedAt: Record<string, string> = {};
    for (const [key, w] of Object.entries(store.sync.pcFieldWrites(referralId))) if (pc[key] !== undefined && canonicalEquals(pc[key], w.value)) pcFieldChangedAt[key] = w.changedAt;
    const result: MergeResult = merge({
      fields: mapping.fields,
      base,
      pc,
      crm,
      pcFieldChangedAt,
      crmFieldChangedAt: link ? this.crmFieldChangedAt(link, record, mapping, connector) : {},
      pcChangedAt: typeof referral.updatedDateTime === 'string' ? referral.updatedDateTime : undefined,
      crmChangedAt: this.crmChangedAt(record, connector),
      origin,
    });
    const heldBefore = store.sync.conflicts(connector.name).filter((c) => c.referralId === referralId);
    const resolved = this.applyResolutions(result, heldBefore, pc, crm);

    const toPc: CanonicalRecord = { ...result.toPc };
    const nextBase: CanonicalRecord = { ...result.nextBase };
    const skipped: AuditEntry[] = [];
    /** Not sent this time: audited, and the base keeps the old value so the field still differs once it may go. */
    const holdBack = (key: string, reason: string) => {
      skipped.push(this.fieldAudit(job, connection, referralId, record.ref, 'to-pc', key, pc[key], toPc[key], 'skipped', reason));
      nextBase[key] = base?.[key] ?? pc[key] ?? null;
      delete toPc[key];
    };
    if (!isEmpty(toPc) && isTerminal(referral)) {
      for (const key of Object.keys(toPc)) holdBack(key, 'the referral is closed in Partner Center and cannot be edited');
    }
    // Microsoft's connector: while an incoming referral waits for the partner's acceptance and its CRM record sits in
    // the on-hold state, the seller's edits wait too; leaving on-hold (which accepts the referral) sends them all.
    if (!isEmpty(toPc) && record.onHold === true && referral.direction === 'Incoming' && referral.status === 'New') {
      for (const key of Object.keys(toPc)) holdBack(key, 'the record is on hold (referral not accepted yet); sent when it leaves the on-hold stage');
    }
    // Partner Center enforces its status table; a change it would reject is held back and audited, not sent.
    const targetStatus = mapping.canonicalToReferralChanges(toPc, referral).find((c) => pathOf(c.path) === 'status')?.value;
    if (typeof targetStatus === 'string' && typeof referral.status === 'string' && !canTransition(referral.status, targetStatus)) {
      for (const key of Object.keys(toPc)) {
        const touchesStatus = mapping
          .canonicalToReferralChanges({ [key]: toPc[key] ?? null }, referral)
          .some((c) => ['status', 'substatus'].includes(pathOf(c.path)));
        if (touchesStatus) holdBack(key, `Partner Center does not allow ${referral.status} → ${targetStatus}`);
      }
    }

    // Announced before the first write, so a crash before the commit below cannot make our own write look foreign. A
    // first link without a base has nothing to protect: the origin side decides again on the next run.
    if (base !== undefined && (!isEmpty(result.toCrm) || !isEmpty(toPc))) {
      store.sync.recordIntents([{ connection: connector.name, referralId, crmEntity: record.ref.entity, base, toCrm: result.toCrm, toPc }]);
    }
    let crmVersion = record.version;
    const hadError = link?.syncState === 'error';
    const crmChanges = mapping.canonicalToCrm(result.toCrm);
    const resolvedNote = (key: string) => (resolved.has(key) ? `conflict resolved by an operator: ${resolved.get(key)}` : null);
    const fieldAudit = [
      ...Object.entries(result.toCrm).map(([key, value]) => this.fieldAudit(job, connection, referralId, record.ref, 'to-crm', key, crm[key], value, 'written', resolvedNote(key))),
      ...Object.entries(toPc).map(([key, value]) => this.fieldAudit(job, connection, referralId, record.ref, 'to-pc', key, pc[key], value, 'written', resolvedNote(key))),
    ];
    // A hold is audited (and shown on the record) once, when it starts or its values change, not on every pass.
    const newHolds = result.conflicts.filter(
      (c) => c.resolution === 'held' && !heldBefore.some((h) => h.field === c.key && canonicalEquals(h.pc ?? null, c.pc) && canonicalEquals(h.crm ?? null, c.crm)),
    );
    const released = heldBefore.filter((h) => !result.held.includes(h.field));
    const conflictAudit = result.conflicts
      .filter((c) => c.resolution !== 'held' || newHolds.includes(c))
      .map((c) =>
        this.fieldAudit(
          job,
          connection,
          referralId,
          record.ref,
          c.resolution === 'pc' ? 'to-crm' : c.resolution === 'crm' ? 'to-pc' : 'none',
          c.key,
          c.resolution === 'crm' ? c.pc : c.crm,
          c.resolution === 'crm' ? c.crm : c.pc,
          c.resolution === 'held' ? 'held' : 'conflict',
          c.resolution === 'held'
            ? `both sides changed: Partner Center ${JSON.stringify(c.pc)}, CRM ${JSON.stringify(c.crm)} (was ${JSON.stringify(c.base)}); held until resolved (cosell conflicts resolve)`
            : `both sides changed (base ${JSON.stringify(c.base)}, Partner Center ${JSON.stringify(c.pc)}, CRM ${JSON.stringify(c.crm)}); policy ${c.policy}`,
        ),
      );
    // The record says Conflict (✖) while a field is held, and Synced again once the last hold is released.
    const status = { ok: result.held.length === 0, ...(result.held.length > 0 ? { conflict: true } : {}) };
    if (!isEmpty(result.toCrm) || hadError || newHolds.length > 0 || released.length > 0) {
      const history = store.sync.audit({ connection: connector.name, referralId, limit: AUDIT_COLUMN_ENTRIES });
      const lines = auditLines([...audit, ...fieldAudit, ...conflictAudit], history);
      crmVersion = (await connector.update(record.ref, crmChanges, record.version, { ...status, auditLines: lines })).version;
    }
    let pcEtag: string | null = eTag ?? null;
    const pcChanges = mapping.canonicalToReferralChanges(toPc, referral);
    // "CRM ID" on the referral, as Microsoft's connector fills it; also what finds the pair again after a crash. With
    // several CRMs it belongs to the CRM where the deal was born: a referral made from a CRM record carries that
    // record's id from its create and no connection overwrites it; only a referral without one (Microsoft's, or made in
    // Partner Center) gets the id of the designated connection's record.
    const bornInACrm = referral.direction === 'Outgoing' && typeof referral.externalReferenceId === 'string' && referral.externalReferenceId !== '';
    if (connection.policy.ownsReferralCrmId && !bornInACrm && referral.externalReferenceId !== record.ref.id && !isTerminal(referral)) {
      pcChanges.push({ path: ['externalReferenceId'], value: record.ref.id });
    }
    if (pcChanges.length > 0) {
      const written = await referrals.patch(referralId, pcChanges, eTag ? { ifMatch: eTag } : {});
      pcEtag = ('eTag' in written && typeof written.eTag === 'string' ? written.eTag : null) ?? null;
    }

    store.sync.commit({
      link: {
        connection: connector.name,
        referralId,
        crmEntity: record.ref.entity,
        crmId: record.ref.id,
        base: nextBase,
        pcEtag,
        crmVersion,
        syncState: 'ok',
        lastError: null,
      },
      audit: [
        ...audit,
        ...(link ? [] : [this.auditEntry(job, connection, referralId, record.ref, { outcome: 'linked', message: `linked (${origin === 'pc' ? 'from Partner Center' : 'from the CRM'})` })]),
        ...fieldAudit,
        ...conflictAudit,
        ...skipped,
      ],
      holdConflicts: result.conflicts
        .filter((c) => c.resolution === 'held')
        .map((c) => ({ field: c.key, base: c.base, pc: c.pc, crm: c.crm })),
      releaseConflicts: released.map((h) => h.field),
      ...(pcChanges.length > 0 ? { pcFieldWrites: Object.fromEntries(Object.entries(toPc).map(([key, value]) => [key, { value, changedAt: record.modifiedAt }])) } : {}),
    });
  }

  /**
   * When the CRM record changed, as precisely as can be told. Dataverse's modifiedon has whole seconds: an edit at
   * 12:00:00.150 reads 12:00:00, older than a Partner Center edit at 12:00:00.100 that it followed. The edit happened
   * within that second and no later than its notification arrived, so the arrival (capped to that second) is the better
   * estimate. Not when our own write was the last change (its echo would date a seller's earlier edit). A tie that
   * remains goes to Partner Center, as the merge documents.
   */
  private crmChangedAt(record: CrmRecord, connector: CrmConnector): string {
    const modified = Date.parse(record.modifiedAt);
    if (Number.isNaN(modified) || modified % 1000 !== 0 || record.modifiedByUs) return record.modifiedAt;
    const [latest] = this.deps.store.inbox.list({ limit: 1, source: connector.kind, resourceId: record.ref.id });
    const received = latest ? Date.parse(latest.receivedAt) : Number.NaN;
    if (Number.isNaN(received) || received < modified) return record.modifiedAt;
    return new Date(Math.min(received, modified + 999)).toISOString();
  }

  /**
   * Per canonical field, when the CRM changed it since the pair's last commit, from the notifications received for the
   * record (Dataverse: the columns of each Create / Update's Target and its operation time): a record's modifiedon
   * moves with every field, so an older edit of one field must not borrow a newer edit of another's time. Fields no
   * notification names keep the record's time.
   */
  private crmFieldChangedAt(link: Link, record: CrmRecord, mapping: EntityMapping, connector: CrmConnector): Record<string, string> {
    if (connector.kind !== 'dynamics') return {};
    const since = Date.parse(link.updatedAt);
    const events = this.deps.store.inbox.list({ limit: 20, source: 'dynamics', resourceId: record.ref.id }).filter((e) => Date.parse(e.receivedAt) > since);
    const columnTimes = new Map<string, string>();
    for (const event of events) {
      const changed = changedColumns(event.payload);
      if (!changed) continue;
      // Newest first: the first event naming a column dates its latest change.
      for (const column of changed.columns) if (!columnTimes.has(column)) columnTimes.set(column, changed.at ?? event.receivedAt);
    }
    const out: Record<string, string> = {};
    if (columnTimes.size === 0) return out;
    for (const { key } of mapping.fields) {
      let columns: string[];
      try {
        columns = Object.keys(mapping.canonicalToCrm({ [key]: null })).map((c) => c.toLowerCase());
      } catch {
        continue; // a transform that cannot map an empty value: the field keeps the record's time
      }
      const times = columns.map((c) => columnTimes.get(c)).filter((t): t is string => t !== undefined);
      if (times.length > 0) out[key] = times.sort().at(-1) as string;
    }
    return out;
  }

  /**
   * An operator's choice for a held field (cosell conflicts resolve) overrides the merge: the value goes to whichever
   * side does not hold it yet, becomes the base, and the hold is released by this sync's commit. Returns, per field,
   * how it was chosen (for the audit).
   */
  private applyResolutions(result: MergeResult, held: readonly HeldConflict[], pc: CanonicalRecord, crm: CanonicalRecord): Map<string, string> {
    const resolved = new Map<string, string>();
    for (const conflict of held) {
      if (!conflict.resolution) continue;
      const key = conflict.field;
      const { value, take } = conflict.resolution;
      result.held = result.held.filter((k) => k !== key);
      result.conflicts = result.conflicts.filter((c) => c.key !== key);
      delete result.toCrm[key];
      delete result.toPc[key];
      if (!canonicalEquals(crm[key] ?? null, value)) result.toCrm[key] = value;
      if (!canonicalEquals(pc[key] ?? null, value)) result.toPc[key] = value;
      result.nextBase[key] = value;
      resolved.set(key, take === 'partner-center' ? "took Partner Center's value" : take === 'crm' ? "took the CRM's value" : 'took the value given');
    }
    return resolved;
  }

  private recordFailure(link: Link, job: Job, message: string): void {
    this.deps.store.sync.commit({
      link: { ...link, syncState: 'error', lastError: message },
      audit: [
        {
          connection: link.connection,
          referralId: link.referralId,
          crmEntity: link.crmEntity,
          crmId: link.crmId,
          direction: 'none',
          field: null,
          oldValue: undefined,
          newValue: undefined,
          cause: job.cause,
          outcome: 'failed',
          message,
        },
      ],
      holdConflicts: [],
      releaseConflicts: [],
    });
  }

  private auditEntry(
    job: Job,
    connection: ConnectionSetup,
    referralId: string | null,
    ref: CrmRecordRef,
    entry: { direction?: AuditEntry['direction']; outcome: AuditEntry['outcome']; message: string },
  ): AuditEntry {
    return {
      connection: connection.connector.name,
      referralId,
      crmEntity: ref.entity,
      crmId: ref.id,
      direction: entry.direction ?? 'none',
      field: null,
      oldValue: undefined,
      newValue: undefined,
      cause: job.cause,
      outcome: entry.outcome,
      message: entry.message,
    };
  }

  private fieldAudit(
    job: Job,
    connection: ConnectionSetup,
    referralId: string,
    ref: CrmRecordRef,
    direction: AuditEntry['direction'],
    field: string,
    oldValue: CanonicalValue | undefined,
    newValue: CanonicalValue | undefined,
    outcome: AuditEntry['outcome'],
    message: string | null,
  ): AuditEntry {
    return {
      connection: connection.connector.name,
      referralId,
      crmEntity: ref.entity,
      crmId: ref.id,
      direction,
      field,
      oldValue,
      newValue,
      cause: job.cause,
      outcome,
      message,
    };
  }
}
