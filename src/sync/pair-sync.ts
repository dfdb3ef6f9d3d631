import { CrmPreconditionFailedError, type CrmEntityName, type CrmRecord, type CrmRecordRef } from '../crm/connector.ts';
import { PartnerCenterApiError } from '../partner-center/api-error.ts';
import type { Referral, ReferralCreate } from '../partner-center/model.ts';
import { ReferralNotFoundError, type VersionedReferral } from '../partner-center/referrals-client.ts';
import { respondBy } from '../partner-center/response-deadline.ts';
import { InProcessLocks } from '../store/in-process-locks.ts';
import type { AuditEntry, Job, KeyedLocks, Link } from '../store/types.ts';
import type { CanonicalRecord } from '../canonical-value.ts';
import type { Logger } from '../util/logger.ts';
import { applyReconcilePlan, commitCreatedLink, recordLinkFailure } from './apply/applier.ts';
import { AUDIT_COLUMN_ENTRIES, auditLines } from './audit-lines.ts';
import { PartnerOrganization } from './engagement-sides.ts';
import type { EntityMapping, Merge } from './entity-mapping.ts';
import { NonRetryableSyncError } from './errors.ts';
import type { DraftProblem } from './referral-body.ts';
import { crmChangedAt, crmFieldChangedAt, needsArrivalTime } from './plan/change-times.ts';
import { createdLinkCommit, createdStatus, crmCreateValues, entityFor, referralDraftFor } from './plan/create-plans.ts';
import { customerCreatedMessage, unfilledLookupLines } from './plan/customer-creates.ts';
import { wantsCoSellUpgrade } from './plan/co-sell-upgrade.ts';
import { isSyncedCoSell, needsCatalogue, SOLUTIONS_BASE } from './plan/deal-solutions.ts';
import { solutionKey } from '../crm/solutions.ts';
import { customerFromReferral } from './plan/crm-canonical.ts';
import { isEmpty, planReconcile, type PairSnapshot, type ReconcilePlan } from './plan/reconcile-plan.ts';
import type { ReferralsPort, SyncStorePort } from './ports.ts';
import { Backfill, type BackfillResult } from './run/backfill.ts';
import { WELL_KNOWN, type ConnectionSetup } from './connection.ts';
import { customerKey } from './run/customers.ts';
import { EngagementReader } from './run/engagement.ts';
import { connectMicrosoftIfMissing, sendReferral, wantsMicrosoftConnected } from './run/co-sell.ts';
import { followSyncSwitch } from './run/seller-pause.ts';
import { assumedCrmRecord } from './run/blind-crm-write.ts';
import { crmSideFromBase } from './plan/crm-mirror.ts';
import { followLeadConversion, handToConvertedLead } from './run/lead-conversion.ts';
import { peopleToRead, peopleUnsynced, readDealContacts, type PeopleCheck } from './run/contacts.ts';
import { readDealTeam } from './run/team.ts';
import { forgettingWrites, SharedReferralReads } from './run/shared-reads.ts';
import { answerIsCurrent, OWN_WRITE_INBOX_PAGE, onlyEchoes, OwnReferralWrites } from './run/own-writes.ts';
import { readReferral, SyncRun, type ReadReferral } from './run/sync-run.ts';
import type { JobHandler } from './worker.ts';

export { WELL_KNOWN, type ConnectionPolicy, type ConnectionSetup } from './connection.ts';

export interface PairSyncDeps {
  store: SyncStorePort;
  referrals: ReferralsPort;
  connections: ReadonlyMap<string, ConnectionSetup>;
  merge: Merge;
  logger: Logger;
  /** Re-plans after a 412 on either side before giving the job back to the worker's backoff. */
  maxReplans?: number;
  /** The partner's own organization (default: learned through `referrals`, kept in the store). */
  organization?: PartnerOrganization;
  /** Ceiling of a backfill's "CRM ID" writes in flight (sync.backfillWritesInFlight). */
  backfillWritesInFlight?: number;
}

/** Both records of a pair, ready to merge. */
interface Pair {
  read: ReadReferral;
  record: CrmRecord;
  mapping: EntityMapping;
  link: Link | null;
  /** The side the pair started from: authoritative on a first link. */
  origin: 'pc' | 'crm';
  /** Rows of earlier steps of this run, committed with the pair. */
  audit?: AuditEntry[];
  /** `record` was not read but taken as the last commit left it (see run/blind-crm-write.ts). */
  assumed?: boolean;
}

/** The referral was made from this CRM record: it carries the record's id as its "CRM ID". */
function bornFrom(referral: Referral, ref: CrmRecordRef): boolean {
  return referral.direction === 'Outgoing' && typeof referral.externalReferenceId === 'string' && referral.externalReferenceId.toLowerCase() === ref.id.toLowerCase();
}
const pairKey = (connection: string, referralId: string): string => `pair\u0000${connection}\u0000${referralId.toLowerCase()}`;

/** The locks under customer keys, namespaced apart from pair keys. */
function customerLocks(locks: KeyedLocks): KeyedLocks {
  return { run: (keys, task) => locks.run(keys.map((key) => `customer\u0000${key}`), task) };
}

function isPreconditionFailure(error: unknown): boolean {
  return error instanceof CrmPreconditionFailedError || (error instanceof PartnerCenterApiError && error.status === 412);
}

/**
 * Syncs one linked pair: read both sides now, map to canonical values, three-way merge against the stored base, write
 * only what changed (with optimistic concurrency), then commit base, link and audit in one transaction. Events are
 * hints: nothing from a notification payload is used, so duplicated, stale or reordered events converge.
 *
 * This class reads and decides which path a job takes; what to write is planned by `planReconcile` (pure) and carried
 * out by `applyReconcilePlan`.
 */
export class PairSync {
  private readonly maxReplans: number;
  /**
   * The store's locks (across instances with PostgreSQL): a pair's job against a backfill of the same referral
   * (`pairKey`, see `exclusive`), and "create or get customer" per customer (`customerLock`, see `customerKey`), so one
   * customer account is created once. Always nested pair keys first, customer keys inside.
   */
  private readonly locks: KeyedLocks;
  private readonly organization: PartnerOrganization;
  private readonly engagements: EngagementReader;
  private readonly bulk: Backfill;
  private readonly deps: PairSyncDeps;
  /** A job's referral read, shared with the other connections' jobs about the same referral (see `SharedReferralReads`). */
  private readonly reads: SharedReferralReads;
  /** The versions our own writes produced, to recognise their webhooks without a read (see own-writes.ts). */
  private readonly ownWrites = new OwnReferralWrites();

  constructor(given: PairSyncDeps) {
    this.reads = new SharedReferralReads((id) => given.referrals.get(id));
    // Every write of ours through the sync (merge, create, backfill) drops the shared read it made stale.
    const deps: PairSyncDeps = { ...given, referrals: forgettingWrites(given.referrals, this.reads, this.ownWrites) };
    this.deps = deps;
    this.locks = deps.store.locks ?? new InProcessLocks();
    this.maxReplans = deps.maxReplans ?? 3;
    this.organization = deps.organization ?? new PartnerOrganization(deps.referrals, deps.store.sync);
    this.engagements = new EngagementReader(deps.referrals, this.organization);
    this.bulk = new Backfill({ store: deps.store, referrals: deps.referrals, customerLock: customerLocks(this.locks), logger: deps.logger, connectionNames: () => deps.connections.keys(), writesInFlight: deps.backfillWritesInFlight });
  }

  readonly handler: JobHandler = async (job) => {
    const connection = this.deps.connections.get(job.connection);
    if (!connection) throw new NonRetryableSyncError(`no connection named "${job.connection}" is configured`);
    const run = new SyncRun(job, connection);
    if (job.referralId === null) return this.syncWithReplans(run);
    return this.locks.run([pairKey(job.connection, job.referralId)], () => this.syncWithReplans(run));
  };

  /**
   * Runs `task` while no job of these referrals (on any connection) runs: a backfill creates, links and writes "CRM ID"
   * under it, so the notifications its own writes raise find the pairs linked and settled instead of racing it.
   */
  exclusive<T>(referralIds: readonly string[], task: () => Promise<T>): Promise<T> {
    const names = [...this.deps.connections.keys()];
    return this.locks.run(referralIds.flatMap((id) => names.map((name) => pairKey(name, id))), task);
  }

  private async syncWithReplans(run: SyncRun): Promise<void> {
    const { job } = run;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.syncOnce(run);
        return;
      } catch (error) {
        // A write against a record we did not read failed (deleted, closed, ...): the read path says what happened.
        const blindWriteFailed = run.assumedCrm && !run.readsEverything;
        if (!(isPreconditionFailure(error) || blindWriteFailed) || attempt >= this.maxReplans) throw error;
        run.readsEverything = true;
        this.deps.logger.debug({ job: job.key, attempt }, 'record changed while syncing; re-reading and re-planning');
      }
    }
  }

  /** First-run backfill through a connector's bulk API (see `Backfill`); returns the referrals it linked. */
  backfill(connectionName: string, referrals: readonly Referral[], cause: Job['cause'] = 'reconcile', before?: Promise<readonly Referral[]>): Promise<BackfillResult> {
    return this.bulk.run(this.deps.connections.get(connectionName), referrals, cause, before);
  }

  private async syncOnce(run: SyncRun): Promise<void> {
    const { store } = this.deps;
    const { job } = run;
    const link =
      job.referralId !== null
        ? await store.sync.getLink(run.name, job.referralId)
        : job.crmEntity !== null && job.crmId !== null
          ? await store.sync.findLinkByCrm(run.name, job.crmEntity, job.crmId)
          : null;
    const referralId = link?.referralId ?? job.referralId;
    // A paused pair (by an operator, or by the seller's Sync with Partner Center = No): nothing is written either way.
    // Its base stays, so resuming (which queues a sync) merges whatever both sides changed meanwhile. The pause itself
    // was audited once, when it was made. The seller's switch back to Yes arrives as a notification about the record:
    // while the seller holds the pause, that job alone still reads the record, to see it. A No set during an operator's
    // pause is seen by the sync the operator's resume queues (it reads the record before merging).
    if (link && (await store.sync.isPaused(run.name, link.referralId))) {
      if (job.crmId !== null && (await store.sync.pausedBy(run.name, link.referralId)).includes('seller')) await this.followSyncSwitch(run, link);
      this.deps.logger.debug({ connection: run.name, referralId: link.referralId, job: job.key }, 'pair paused: sync skipped');
      return;
    }
    if (referralId !== null) return this.syncFromReferral(run, referralId, link);
    if (job.crmEntity !== null && job.crmId !== null) {
      return this.syncFromCrm(run, { entity: job.crmEntity as CrmEntityName, id: job.crmId });
    }
    throw new NonRetryableSyncError(`job ${job.key} names neither a referral nor a CRM record`);
  }

  private async syncFromReferral(run: SyncRun, referralId: string, link: Link | null): Promise<void> {
    // A linked pair's two reads are independent: run them together, halving the sync's latency.
    const linkedMapping = link ? run.mapping(link.crmEntity) : undefined;
    const linkedColumns = linkedMapping ? await run.columns(linkedMapping) : [];
    const readLinked = () => (link && linkedMapping ? run.connector.read({ entity: linkedMapping.entity, id: link.crmId }, linkedColumns) : Promise.resolve(undefined));
    // A job about the referral alone (its notification, a listing) reads the CRM record only once the referral turns
    // out to have changed: the echo of our own Partner Center write then costs one read, not one per side.
    const referralOnly = link !== null && run.job.crmId === null;
    if (referralOnly && linkedMapping && !run.readsEverything && (await this.settledByOwnWrite(run, link, linkedMapping))) return;
    const [versioned, readTogether] = await Promise.all([
      this.referralNow(run, referralId).catch((error: unknown) => {
        if (error instanceof ReferralNotFoundError) return null;
        throw error;
      }),
      referralOnly ? undefined : readLinked(),
    ]);
    if (versioned === null) {
      if (link) await this.recordFailure(run, link, 'the referral no longer exists in Partner Center');
      return;
    }
    const read = readReferral(versioned.referral, versioned.eTag);
    // A notification may name Microsoft's referral (or another partner's) in the engagement rather than the partner's:
    // that referral is never linked nor written; the partner's own referral of the engagement is synced instead.
    if (!link && !(await this.organization.isOwn(read.referral))) return this.redirectToPartnersReferral(run, read.referral);
    const { referral } = read;
    await this.deps.store.sync.labelDeal({ connection: run.name, referralId: read.id, crmEntity: null, crmId: null, name: referral.name ?? null, customer: referral.customerProfile?.name ?? null, respondBy: respondBy(referral) });
    if (!link || !linkedMapping) return this.syncUnlinked(run, read);
    const coSell = this.syncsSolutions(run, link.crmEntity, read.referral);
    if (referralOnly && (await this.isReferralSettled({ run, link, mapping: linkedMapping, eTag: read.eTag, coSell }))) return;
    // A Partner Center change of a pair whose record is as we last committed it: no read, an If-Match write.
    const assumed = referralOnly && !run.readsEverything ? await assumedCrmRecord({ store: this.deps.store, connector: run.connector, link, referral: read.referral }) : undefined;
    if (assumed) run.assumedCrm = true;
    const linkedRecord = assumed ?? (referralOnly ? await readLinked() : readTogether);
    // The seller's switch moves the record's version: the write's If-Match finds it, and the re-read follows it.
    if (linkedRecord && !assumed && (await this.followSyncSwitch(run, link, linkedRecord))) return;
    // Before anything that would write to the lead or promote it into an opportunity of our own (see lead-conversion.ts).
    if (link.crmEntity === 'lead' && linkedRecord?.convertedTo) return this.followConversion(run, read, link, linkedRecord);
    if (linkedRecord && (await this.isSettled({ run, link, mapping: linkedMapping, record: linkedRecord, eTag: read.eTag, coSell }))) return;
    if (link.crmEntity === 'lead' && entityFor(read.referral, run.connection) === 'opportunity') return this.promoteLead(run, read, link);
    if (!linkedRecord) {
      await this.recordFailure(run, link, `the linked ${link.crmEntity} ${link.crmId} no longer exists in the CRM`);
      return;
    }
    await this.reconcilePair(run, { read, record: linkedRecord, mapping: linkedMapping, link, origin: 'pc', assumed: assumed !== undefined }, { last: true });
  }

  private followConversion(run: SyncRun, read: ReadReferral, link: Link, lead: CrmRecord): Promise<void> {
    return followLeadConversion(this.deps, { run, read, link, lead, reconcile: (pair) => this.reconcilePair(run, pair) });
  }

  /** Pauses or resumes the pair as the record's "Sync with Partner Center" says (see `followSyncSwitch`); true while paused. */
  private async followSyncSwitch(run: SyncRun, link: Link, known?: CrmRecord): Promise<boolean> {
    const mapping = run.mapping(link.crmEntity);
    const record = known ?? (await run.connector.read({ entity: mapping.entity, id: link.crmId }, await run.columns(mapping)));
    if (!record) return this.deps.store.sync.isPaused(run.name, link.referralId);
    return followSyncSwitch({ store: this.deps.store, connection: run.connection, link, record, mapping, logger: this.deps.logger });
  }

  /**
   * Neither side changed since our last commit (typically the echo of our own write): the merge would find nothing.
   * A write intent left behind means the last sync never committed: always merge then. Microsoft's referral may have
   * changed without either record changing (related-referral-*): then it has to be read.
   */
  private async isSettled(input: { run: SyncRun; link: Link; mapping: EntityMapping; record: CrmRecord; eTag: string | undefined; coSell: boolean }): Promise<boolean> {
    const { link, record } = input;
    return link.crmVersion !== null && link.crmVersion === record.version && (await this.isReferralSettled(input));
  }

  /**
   * The referral is the version we last committed and nothing of ours is pending: for a job about the referral alone,
   * nothing to do (a change of the CRM record has a notification, and the reconciler's CRM listing, of its own).
   */
  private async isReferralSettled(input: { run: SyncRun; link: Link; mapping: EntityMapping; eTag: string | undefined; coSell: boolean }): Promise<boolean> {
    const { run, link } = input;
    const { sync } = this.deps.store;
    return (
      !(run.job.microsoftSide && input.mapping.readsMicrosoftReferral) &&
      // The reconciler's periodic re-read of open co-sell pairs is also what finds a change to the deal's solutions
      // alone (their rows are not the opportunity's, so its version does not move and no notification names it).
      !(run.job.microsoftSide && run.job.cause === 'reconcile' && input.coSell) &&
      // A co-sell pair whose solutions were never synced (just accepted, or linked before they were): sync them now.
      !(input.coSell && link.base?.[SOLUTIONS_BASE] === undefined) &&
      link.syncState === 'ok' &&
      link.pcEtag !== null &&
      link.pcEtag === input.eTag &&
      // The store last: its reads are asynchronous, and the checks above settle most jobs without them.
      !(await sync.getIntent(link.connection, link.referralId, link.crmEntity)) &&
      // An operator's resolution of a held conflict waits to be written even though neither record changed.
      !(await sync.conflicts(link.connection)).some((c) => c.referralId === link.referralId && c.resolution) &&
      // A contact role or team member changed (its own row: the opportunity's version did not move), or the periodic pass.
      !(input.mapping.syncContactsAndTeam === true && (await peopleUnsynced({ ...this.peopleCheck(run), link })))
    );
  }

  private peopleCheck(run: SyncRun): Omit<PeopleCheck, 'link'> {
    return { connector: run.connector, inbox: this.deps.store.inbox, notifiedChanges: run.connection.notifiedChanges, job: run.job };
  }

  /**
   * A notification job whose events announce nothing newer than our own committed write (see own-writes.ts): the pair
   * is settled without reading the referral, the echo of the backfill's "CRM ID" write costing no Partner Center call.
   */
  private async settledByOwnWrite(run: SyncRun, link: Link, mapping: EntityMapping): Promise<boolean> {
    const own = this.ownWrites.get(link.referralId);
    if (run.job.cause !== 'event' || !own || own.eTag !== link.pcEtag) return false;
    const coSell = run.connector.solutions !== undefined && link.crmEntity === 'opportunity' && own.syncedCoSell;
    if (!(await this.isReferralSettled({ run, link, mapping, eTag: own.eTag, coSell }))) return false;
    const notifications = await this.deps.store.inbox.list({ limit: OWN_WRITE_INBOX_PAGE, source: 'partner-center', resourceId: link.referralId });
    if (!onlyEchoes(own, notifications, OWN_WRITE_INBOX_PAGE)) return false;
    await this.deps.store.sync.labelDeal({ connection: run.name, referralId: link.referralId, crmEntity: null, crmId: null, ...own.label });
    this.deps.logger.debug({ connection: run.name, referralId: link.referralId, job: run.job.key }, 'echo of our own Partner Center write: pair settled without a read');
    return true;
  }

  /**
   * The referral as it is now: the answer of our own last write when the job's notifications announce nothing newer
   * (see own-writes.ts; so the echo of a merge's PATCH costs no read on any connection), else a read.
   */
  private async referralNow(run: SyncRun, referralId: string): Promise<VersionedReferral> {
    const own = run.readsEverything || run.job.cause !== 'event' ? undefined : this.ownWrites.get(referralId);
    if (own?.referral) {
      const notifications = await this.deps.store.inbox.list({ limit: OWN_WRITE_INBOX_PAGE, source: 'partner-center', resourceId: referralId });
      if (answerIsCurrent(own, notifications, OWN_WRITE_INBOX_PAGE)) {
        this.deps.logger.debug({ connection: run.name, referralId, job: run.job.key }, 'echo of our own Partner Center write: its answer stands in for a read');
        return { referral: own.referral, eTag: own.eTag };
      }
    }
    return this.reads.get(referralId, run.job.enqueuedAt);
  }

  /** A referral without a link: find its CRM record (a crash may have left one) or create it. */
  private async syncUnlinked(run: SyncRun, read: ReadReferral): Promise<void> {
    const { referral, id } = read;
    const entity = entityFor(referral, run.connection);
    if (entity === null) {
      this.deps.logger.debug({ referralId: id, status: referral.status }, 'referral not synced to the CRM (closed, or a lead while leads are off)');
      return;
    }
    const mapping = run.mapping(entity);
    // A crash after the keyed create but before the link commit leaves a record we must find, not duplicate.
    const columns = await run.columns(mapping);
    let record = await run.connector.findByReferralId(entity, id, columns);
    if (!record && referral.externalReferenceId) {
      record = await run.connector.read({ entity, id: referral.externalReferenceId }, columns);
    }
    if (!record) return this.createInCrm(run, { read, entity, mapping });
    // A first link of two existing records: a referral made from this very record (ours, carrying its id as "CRM ID")
    // started in the CRM, so the CRM is authoritative, not the side this job happened to start from.
    const madeFromRecord = bornFrom(referral, record.ref);
    // A crash (or a failed call) between the two calls of a co-sell create left the deal without Microsoft's referral.
    if (madeFromRecord) await connectMicrosoftIfMissing(this.deps.referrals, referral);
    await this.reconcilePair(run, { read, record, mapping, link: null, origin: madeFromRecord ? 'crm' : 'pc' });
  }

  /**
   * An accepted lead becomes an opportunity, as in Microsoft's connector: the lead is brought up to date (its state
   * follows the referral to qualified) and an opportunity is created for the referral, which the link then follows.
   * The create is keyed by the referral id, so a crash between the two steps cannot make a second opportunity.
   */
  private async promoteLead(run: SyncRun, read: ReadReferral, link: Link): Promise<void> {
    const leadMapping = run.mapping('lead');
    const lead = await run.connector.read({ entity: 'lead', id: link.crmId }, await run.columns(leadMapping));
    if (lead) await this.reconcilePair(run, { read, record: lead, mapping: leadMapping, link, origin: 'pc' });
    const mapping = run.mapping('opportunity');
    const existing = await run.connector.findByReferralId('opportunity', read.id, await run.columns(mapping));
    const promoted = run.note({ referralId: read.id, ref: { entity: 'lead', id: link.crmId }, direction: 'to-crm', outcome: 'written', message: 'referral accepted: lead promoted to an opportunity' });
    const fresh = await this.deps.referrals.get(read.id);
    const reread = readReferral(fresh.referral, fresh.eTag);
    if (existing) {
      await this.reconcilePair(run, { read: reread, record: existing, mapping, link: null, origin: 'pc', audit: [promoted] });
    } else {
      await this.createInCrm(run, { read: reread, entity: 'opportunity', mapping, audit: [promoted] });
    }
  }

  private async createInCrm(run: SyncRun, create: { read: ReadReferral; entity: CrmEntityName; mapping: EntityMapping; audit?: AuditEntry[] }): Promise<void> {
    const { read, entity, mapping } = create;
    const { connector } = run;
    const pc = mapping.referralToCanonical(read.referral, await this.engagements.microsoftSide(read.referral, mapping));
    const outbound = crmCreateValues(mapping, pc, read.id);
    const profile = customerFromReferral(read.referral);
    const customer = await customerLocks(this.locks).run([customerKey(connector, profile)], () => connector.ensureCustomer(profile));
    await this.announceCreate(run, { referralId: read.id, entity, base: outbound });
    const status = createdStatus(read.id, new Date(), unfilledLookupLines(customer.created));
    const created = await connector.createForReferral(entity, read.id, mapping.canonicalToCrm(outbound), customer, mapping.columns, status);
    const audit: AuditEntry[] = [
      ...(create.audit ?? []),
      ...customer.created.map((ref) => run.note({ referralId: read.id, ref, outcome: 'created', message: customerCreatedMessage(ref) })),
    ];
    if (created.existed) {
      // An earlier attempt made the record (its answer was lost, or the process died) and a seller may have edited it
      // since: merged against what that attempt wrote (its create intent), so neither side's edit is overwritten.
      audit.push(run.note({ referralId: read.id, ref: created.ref, direction: 'none', outcome: 'linked', message: `found the ${entity} an earlier attempt created` }));
      await this.reconcilePair(run, { read, record: created, mapping, link: null, origin: 'pc', audit });
      return;
    }
    audit.push(run.note({ referralId: read.id, ref: created.ref, direction: 'to-crm', outcome: 'created', message: `${entity} created from referral` }));
    const link = await this.linkCreatedPair(run, { read, record: created, mapping, pc, origin: 'pc', audit });
    await this.reconcilePair(run, { read, record: created, mapping, link, origin: 'pc' });
  }

  /**
   * The values a create sends, recorded before it: the base to merge against if the record turns out to exist when
   * the pair is next seen. An earlier attempt's announcement is kept: if any attempt created the record, it was the
   * first, with the first attempt's values.
   */
  private async announceCreate(run: SyncRun, create: { referralId: string; entity: CrmEntityName; base: CanonicalRecord }): Promise<void> {
    const { sync } = this.deps.store;
    // Read, then write: only this pair's job runs this (one job per pair, see `exclusive`), so nothing comes between.
    const earlier = await sync.getIntent(run.name, create.referralId, create.entity);
    if (earlier && isEmpty(earlier.toCrm) && isEmpty(earlier.toPc)) return;
    await sync.recordIntents([{ connection: run.name, referralId: create.referralId, crmEntity: create.entity, base: create.base, toCrm: {}, toPc: {} }]);
  }

  private async syncFromCrm(run: SyncRun, ref: CrmRecordRef): Promise<void> {
    if (ref.entity !== 'opportunity') return; // Microsoft's connector sends opportunities, not leads, to Partner Center
    const mapping = run.mapping(ref.entity);
    const record = await run.connector.read(ref, await run.columns(mapping));
    if (!record) return;
    // Unlinked and last written by us: that write was our own ✖ status, so nothing a seller did is waiting. Without
    // this, the echo of the status write would re-validate and write the status again, forever.
    if (record.modifiedByUs) return;
    const crm = mapping.crmToCanonical(record.values);
    if (crm[WELL_KNOWN.syncEnabled] !== true) return; // Sync with Partner Center = No: never sent

    if (await handToConvertedLead(this.deps, run, ref)) return; // a synced lead the seller converted: its pair follows
    const knownReferral = crm[WELL_KNOWN.referralId];
    if (typeof knownReferral === 'string' && knownReferral !== '') return this.syncFromReferral(run, knownReferral, null);
    // A crash after creating the referral but before writing its id back: find it by our CRM id.
    const existing = await this.engagements.findReferralByExternalId(record.ref.id);
    if (existing) return this.syncFromReferral(run, existing, null);

    const customer = await run.connector.readCustomer(ref);
    const name = crm[WELL_KNOWN.name];
    await this.deps.store.sync.labelDeal({ connection: run.name, referralId: null, crmEntity: ref.entity, crmId: ref.id, name: typeof name === 'string' ? name : null, customer: customer?.name ?? null, respondBy: null });
    const solutionIds = run.connector.solutions ? await run.connector.solutions.readDealSolutions(ref) : null;
    const draft = referralDraftFor({ mapping, crm, crmId: record.ref.id, customer, solutionIds });
    if ('problems' in draft) return this.reportUnsendable(run, ref, draft.problems);
    await this.createInPartnerCenter(run, { record, mapping, body: draft.body });
  }

  /** Partner Center would refuse the deal: nothing is sent; the record gets ✖ and an Audit line per field to fix. */
  private async reportUnsendable(run: SyncRun, ref: CrmRecordRef, problems: readonly DraftProblem[]): Promise<void> {
    const failures = problems.map(({ field, reason }) =>
      run.note({ referralId: null, ref, direction: 'to-pc', outcome: 'failed', message: `not sent to Partner Center: ${field}: ${reason}` }),
    );
    const history = await this.deps.store.sync.audit({ connection: run.name, crmId: ref.id, limit: AUDIT_COLUMN_ENTRIES });
    await run.connector.writeSyncStatus(ref, { ok: false, auditLines: auditLines(failures, history) });
    await this.deps.store.sync.appendAudit(failures);
  }

  private async createInPartnerCenter(run: SyncRun, create: { record: CrmRecord; mapping: EntityMapping; body: ReferralCreate }): Promise<void> {
    const { record, mapping } = create;
    const { ref } = record;
    // Announced with its idempotency key before the POST: a crash before the link commits repeats the create with the
    // same MS-RequestId, which Partner Center answers with the referral the first attempt made. Finding it by "CRM ID"
    // (above) is not enough: with several CRMs, another connection's record may be the one that field names.
    const requestId = await this.deps.store.sync.createKey(run.name, ref.entity, ref.id);
    const created = readReferral(await sendReferral(this.deps.referrals, create.body, requestId), undefined);
    await this.organization.learn(created.referral.organizationId);
    const coSell = create.body.type === 'Shared' ? ' (co-sell, shared with Microsoft)' : '';
    const audit = [run.note({ referralId: created.id, ref, direction: 'to-pc', outcome: 'created', message: `referral created from CRM record${coSell}` })];
    const fresh = await this.deps.referrals.get(created.id);
    const read = readReferral(fresh.referral, fresh.eTag);
    const pc = mapping.referralToCanonical(read.referral);
    const link = await this.linkCreatedPair(run, { read, record, mapping, pc, origin: 'crm', audit });
    await this.reconcilePair(run, { read, record, mapping, link, origin: 'crm' });
  }

  /** Links a pair the moment its second record exists, before any further call (see `createdLinkCommit`). */
  private linkCreatedPair(run: SyncRun, pair: Omit<Pair, 'link' | 'audit'> & { pc: CanonicalRecord; audit: AuditEntry[] }): Promise<Link> {
    const { read, record, mapping, pc, origin, audit } = pair;
    const heldValue = run.connector.heldValue?.bind(run.connector);
    return commitCreatedLink(this.deps.store, createdLinkCommit({ stamp: run.stamp, referralId: read.id, eTag: read.eTag, record, mapping, pc, origin, audit, heldValue }));
  }

  /**
   * The job named a referral that is not the partner's (Microsoft's side, or another partner's in a partner-to-partner
   * engagement): its change concerns the partner's referral of the same engagement, which is queued with Microsoft's
   * side to be re-read (a job of its own, so that pair is still synced one at a time). Nothing is written here.
   */
  private async redirectToPartnersReferral(run: SyncRun, foreign: Referral): Promise<void> {
    const partners = await this.engagements.partnersReferralIds(foreign);
    this.deps.logger.info(
      { referralId: foreign.id, organizationId: foreign.organizationId, partnerReferrals: partners },
      "notification named a referral that is not the partner's; syncing the partner's referral of the engagement instead",
    );
    if (partners.length === 0) return;
    await this.deps.store.jobs.enqueue(partners.map((referralId) => ({ connection: run.name, cause: run.job.cause, referralId, microsoftSide: true })));
  }

  /** The merge and its writes, shared by every path once both sides exist: read what the plan needs, plan, apply. */
  private async reconcilePair(run: SyncRun, pair: Pair, options: { last?: boolean } = {}): Promise<void> {
    const snapshot = await this.snapshot(run, pair);
    const plan = planReconcile(snapshot, this.deps.merge);
    const after = { snapshot, upgraded: plan.coSellUpgrade === true, mapping: pair.mapping };
    // The run's last step, with nothing to do after its commit: that commit completes the job too.
    const completes = options.last && !this.actsAfter(after) ? run.job : undefined;
    await applyReconcilePlan({ store: this.deps.store, referrals: this.deps.referrals, connector: run.connector }, plan, { completes });
    await this.connectMicrosoftAfter(run, after);
    this.logSync(run, plan.commit);
  }

  /**
   * The second call of the co-sell recipe for a deal made co-sell after its creation (see co-sell-upgrade.ts). It runs
   * as a job of its own that reads Microsoft's side, so a failed or interrupted call is retried by the worker: the
   * upgraded referral no longer asks for an upgrade, only that job knows Microsoft is missing. Any pass that read
   * Microsoft's side and found none for a co-sell deal made from this record connects it too (only the connection whose
   * record the deal came from: another CRM's first link must not race the creator's own second call).
   */
  private async connectMicrosoftAfter(run: SyncRun, after: { snapshot: PairSnapshot; upgraded: boolean; mapping: EntityMapping }): Promise<void> {
    const { snapshot } = after;
    if (after.upgraded && after.mapping.readsMicrosoftReferral) {
      await this.deps.store.jobs.enqueue([{ connection: run.name, cause: run.job.cause, referralId: snapshot.referralId, microsoftSide: true }]);
    } else if (after.upgraded) {
      await connectMicrosoftIfMissing(this.deps.referrals, (await this.deps.referrals.get(snapshot.referralId)).referral);
    } else if (this.actsAfter(after)) {
      await connectMicrosoftIfMissing(this.deps.referrals, snapshot.referral);
    }
  }

  /** Whether `connectMicrosoftAfter` has anything to do. */
  private actsAfter(after: { snapshot: PairSnapshot; upgraded: boolean }): boolean {
    const { snapshot } = after;
    return after.upgraded || (snapshot.microsoftReferral === null && wantsMicrosoftConnected(snapshot.referral) && bornFrom(snapshot.referral, snapshot.record.ref));
  }

  /** The deal's Microsoft Solutions when a private deal's seller asks for Microsoft's help; otherwise not read. */
  private async dealSolutionsIfUpgrading(run: SyncRun, pair: Pair): Promise<readonly string[] | null | undefined> {
    const crm = pair.assumed ? crmSideFromBase(pair.mapping, pair.link?.base) : pair.mapping.crmToCanonical(pair.record.values);
    if (pair.record.ref.entity !== 'opportunity' || !wantsCoSellUpgrade(pair.read.referral, crm)) return undefined;
    return run.connector.solutions ? run.connector.solutions.readDealSolutions(pair.record.ref) : null;
  }

  /** Whether this pair's deal solutions sync (deal-solutions.ts): an open co-sell opportunity in a CRM with the catalogue. */
  private syncsSolutions(run: SyncRun, entity: string, referral: Referral): boolean {
    return run.connector.solutions !== undefined && entity === 'opportunity' && isSyncedCoSell(referral);
  }

  /**
   * A linked co-sell deal's Microsoft Solutions, synced both ways on every sync of the pair (deal-solutions.ts). Costs
   * one CRM read per sync of a co-sell pair, plus a catalogue read when Partner Center names ids neither side agreed on or the CRM lost an agreed one.
   * An unaccepted incoming referral takes only an answer and a closed one no edit: not read then.
   */
  private async coSellSolutions(run: SyncRun, pair: Pair): Promise<PairSnapshot['coSellSolutions']> {
    const { solutions } = run.connector;
    const { referral } = pair.read;
    if (!solutions || !pair.link || !this.syncsSolutions(run, pair.record.ref.entity, referral)) return undefined;
    const crm = await solutions.readDealSolutions(pair.record.ref);
    const catalogue = needsCatalogue(referral, crm, pair.link.base) ? new Set((await solutions.list()).map((s) => solutionKey(s.solutionId))) : undefined;
    return { crm, catalogue };
  }

  /** One line per sync: the pair, the fields written each way and the outcome; at info only when it changed something. */
  private logSync(run: SyncRun, commit: ReconcilePlan['commit']): void {
    const fields = (direction: AuditEntry['direction']) =>
      commit.audit.filter((e) => e.direction === direction && e.field !== null && (e.outcome === 'written' || e.outcome === 'conflict')).map((e) => e.field);
    const toCrm = fields('to-crm');
    const toPc = fields('to-pc');
    const held = commit.holdConflicts.map((c) => c.field);
    const failed = commit.link.syncState === 'error';
    const outcome = failed ? 'failed' : held.length ? 'held' : toCrm.length || toPc.length ? 'written' : 'unchanged';
    const line = { connection: run.name, referralId: commit.link.referralId, crm: `${commit.link.crmEntity}:${commit.link.crmId}`, cause: run.job.cause, toCrm, toPc, held, outcome };
    if (outcome === 'unchanged') this.deps.logger.debug(line, 'pair synced');
    else this.deps.logger.info(line, 'pair synced');
  }

  private async snapshot(run: SyncRun, pair: Pair): Promise<PairSnapshot> {
    const { sync } = this.deps.store;
    const { read, record, mapping, link } = pair;
    // A linked pair's Microsoft-side fields keep their base unless the notification could concern Microsoft's referral.
    const microsoftReferral = link && !run.job.microsoftSide ? undefined : await this.engagements.microsoftSide(read.referral, mapping);
    const people = mapping.syncContactsAndTeam ? await peopleToRead({ ...this.peopleCheck(run), link, referral: read.referral }) : { contacts: false, team: false };
    return {
      stamp: run.stamp,
      ownsReferralCrmId: run.connection.policy.ownsReferralCrmId,
      referral: read.referral,
      referralId: read.id,
      eTag: read.eTag,
      record,
      crmAssumed: pair.assumed === true,
      mapping,
      link,
      origin: pair.origin,
      microsoftReferral,
      intent: await sync.getIntent(run.name, read.id, record.ref.entity),
      pcFieldWrites: await sync.pcFieldWrites(read.id),
      crmChangedAt: await this.crmChangedAt(run, record),
      crmFieldChangedAt: link ? await this.crmFieldChangedAt(run, link, record, mapping) : {},
      held: (await sync.conflicts(run.name)).filter((c) => c.referralId === read.id),
      heldValue: run.connector.heldValue?.bind(run.connector),
      decision: run.connector.coSellDecisions?.decision(record) ?? null,
      dealSolutions: await this.dealSolutionsIfUpgrading(run, pair),
      coSellSolutions: await this.coSellSolutions(run, pair),
      ...(people.contacts || people.team ? { peopleReadAt: new Date().toISOString() } : {}),
      dealContacts: people.contacts ? await readDealContacts(run.connector, pair.record.ref, pair.link) : undefined,
      dealTeam: people.team ? await readDealTeam(run.connector, pair.record.ref, pair.link, read.referral) : undefined,
      audit: pair.audit ?? [],
    };
  }

  /** The record's time, refined by when its newest notification arrived (see `crmChangedAt`). */
  private async crmChangedAt(run: SyncRun, record: CrmRecord): Promise<string> {
    if (!needsArrivalTime(record)) return record.modifiedAt;
    const [latest] = await this.deps.store.inbox.list({ limit: 1, source: run.connector.kind, resourceId: record.ref.id });
    return crmChangedAt(record, latest?.receivedAt);
  }

  /** Per field, from the record's notifications since the last commit, where its vendor can read them (see `crmFieldChangedAt`). */
  private async crmFieldChangedAt(run: SyncRun, link: Link, record: CrmRecord, mapping: EntityMapping): Promise<Record<string, string>> {
    const changes = run.connection.notifiedChanges;
    if (!changes) return {};
    const notifications = await this.deps.store.inbox.list({ limit: 20, source: run.connector.kind, resourceId: record.ref.id });
    return crmFieldChangedAt({ since: link.updatedAt, mapping, notifications, changes });
  }

  private recordFailure(run: SyncRun, link: Link, message: string): Promise<void> {
    return recordLinkFailure(this.deps.store, { link, cause: run.job.cause, message });
  }
}
