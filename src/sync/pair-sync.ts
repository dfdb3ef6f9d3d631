import { CrmPreconditionFailedError, type CrmEntityName, type CrmRecord } from '../crm/connector.ts';
import { PartnerCenterApiError } from '../partner-center/api-error.ts';
import type { Referral } from '../partner-center/model.ts';
import { ReferralNotFoundError, type VersionedReferral } from '../partner-center/referrals-client.ts';
import { respondBy } from '../partner-center/response-deadline.ts';
import { InProcessLocks } from '../store/in-process-locks.ts';
import type { Job, KeyedLocks, Link } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import { recordLinkFailure } from './apply/applier.ts';
import { PartnerOrganization } from './engagement-sides.ts';
import type { Merge } from './entity-mapping.ts';
import { NonRetryableSyncError } from './errors.ts';
import { entityFor } from './plan/create-plans.ts';
import type { ReferralsPort, SyncStorePort } from './ports.ts';
import { Backfill, type BackfillResult } from './run/backfill.ts';
import type { ConnectionSetup } from './connection.ts';
import { EngagementReader } from './run/engagement.ts';
import { bornFrom, connectMicrosoftIfMissing } from './run/co-sell.ts';
import { CrmCreates } from './run/crm-creates.ts';
import { CrmOriginatedSync } from './run/crm-originated.ts';
import { followSyncSwitch } from './run/seller-pause.ts';
import { assumedCrmRecord } from './run/blind-crm-write.ts';
import { followLeadConversion } from './run/lead-conversion.ts';
import { PairReconciler } from './run/pair-reconcile.ts';
import { PairSnapshotReads, syncsSolutions } from './run/pair-snapshot-reads.ts';
import { SettledChecks } from './run/settled-checks.ts';
import { forgettingWrites, SharedReferralReads } from './run/shared-reads.ts';
import { answerIsCurrent, OWN_WRITE_INBOX_PAGE, OwnReferralWrites } from './run/own-writes.ts';
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
 * out by `applyReconcilePlan` (see run/pair-reconcile.ts).
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
  private readonly settled: SettledChecks;
  private readonly reconciler: PairReconciler;
  private readonly crmCreates: CrmCreates;
  private readonly crmOriginated: CrmOriginatedSync;

  constructor(given: PairSyncDeps) {
    this.reads = new SharedReferralReads((id) => given.referrals.get(id));
    // Every write of ours through the sync (merge, create, backfill) drops the shared read it made stale.
    const deps: PairSyncDeps = { ...given, referrals: forgettingWrites(given.referrals, this.reads, this.ownWrites) };
    this.deps = deps;
    this.locks = deps.store.locks ?? new InProcessLocks();
    this.maxReplans = deps.maxReplans ?? 3;
    this.organization = deps.organization ?? new PartnerOrganization(deps.referrals, deps.store.sync);
    this.engagements = new EngagementReader(deps.referrals, this.organization);
    const customerLock = customerLocks(this.locks);
    this.bulk = new Backfill({ store: deps.store, referrals: deps.referrals, customerLock, logger: deps.logger, connectionNames: () => deps.connections.keys(), writesInFlight: deps.backfillWritesInFlight });
    const snapshots = new PairSnapshotReads({ store: deps.store, engagements: this.engagements });
    this.reconciler = new PairReconciler({ store: deps.store, referrals: deps.referrals, merge: deps.merge, logger: deps.logger, snapshots });
    this.settled = new SettledChecks({ store: deps.store, logger: deps.logger, ownWrites: this.ownWrites });
    this.crmCreates = new CrmCreates({ store: deps.store, engagements: this.engagements, customerLock, reconciler: this.reconciler });
    this.crmOriginated = new CrmOriginatedSync({
      store: deps.store,
      referrals: deps.referrals,
      organization: this.organization,
      engagements: this.engagements,
      reconciler: this.reconciler,
      syncReferral: (run, referralId) => this.syncFromReferral(run, referralId, null),
    });
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
      return this.crmOriginated.sync(run, { entity: job.crmEntity as CrmEntityName, id: job.crmId });
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
    if (referralOnly && linkedMapping && !run.readsEverything && (await this.settled.settledByOwnWrite(run, link, linkedMapping))) return;
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
    const coSell = syncsSolutions(run, link.crmEntity, read.referral);
    if (referralOnly && (await this.settled.isReferralSettled({ run, link, mapping: linkedMapping, eTag: read.eTag, coSell }))) return;
    // A Partner Center change of a pair whose record is as we last committed it: no read, an If-Match write.
    const assumed = referralOnly && !run.readsEverything ? await assumedCrmRecord({ store: this.deps.store, connector: run.connector, link, referral: read.referral }) : undefined;
    if (assumed) run.assumedCrm = true;
    const linkedRecord = assumed ?? (referralOnly ? await readLinked() : readTogether);
    // The seller's switch moves the record's version: the write's If-Match finds it, and the re-read follows it.
    if (linkedRecord && !assumed && (await this.followSyncSwitch(run, link, linkedRecord))) return;
    // Before anything that would write to the lead or promote it into an opportunity of our own (see lead-conversion.ts).
    if (link.crmEntity === 'lead' && linkedRecord?.convertedTo) return this.followConversion(run, read, link, linkedRecord);
    if (linkedRecord && (await this.settled.isSettled({ run, link, mapping: linkedMapping, record: linkedRecord, eTag: read.eTag, coSell }))) return;
    if (link.crmEntity === 'lead' && entityFor(read.referral, run.connection) === 'opportunity') return this.promoteLead(run, read, link);
    if (!linkedRecord) {
      await this.recordFailure(run, link, `the linked ${link.crmEntity} ${link.crmId} no longer exists in the CRM`);
      return;
    }
    await this.reconciler.reconcile(run, { read, record: linkedRecord, mapping: linkedMapping, link, origin: 'pc', assumed: assumed !== undefined }, { last: true });
  }

  private followConversion(run: SyncRun, read: ReadReferral, link: Link, lead: CrmRecord): Promise<void> {
    return followLeadConversion(this.deps, { run, read, link, lead, reconcile: (pair) => this.reconciler.reconcile(run, pair) });
  }

  /** Pauses or resumes the pair as the record's "Sync with Partner Center" says (see `followSyncSwitch`); true while paused. */
  private async followSyncSwitch(run: SyncRun, link: Link, known?: CrmRecord): Promise<boolean> {
    const mapping = run.mapping(link.crmEntity);
    const record = known ?? (await run.connector.read({ entity: mapping.entity, id: link.crmId }, await run.columns(mapping)));
    if (!record) return this.deps.store.sync.isPaused(run.name, link.referralId);
    return followSyncSwitch({ store: this.deps.store, connection: run.connection, link, record, mapping, logger: this.deps.logger });
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
    if (!record) return this.crmCreates.create(run, { read, entity, mapping });
    // A first link of two existing records: a referral made from this very record (ours, carrying its id as "CRM ID")
    // started in the CRM, so the CRM is authoritative, not the side this job happened to start from.
    const madeFromRecord = bornFrom(referral, record.ref);
    // A crash (or a failed call) between the two calls of a co-sell create left the deal without Microsoft's referral.
    if (madeFromRecord) await connectMicrosoftIfMissing(this.deps.referrals, referral);
    await this.reconciler.reconcile(run, { read, record, mapping, link: null, origin: madeFromRecord ? 'crm' : 'pc' });
  }

  /**
   * An accepted lead becomes an opportunity, as in Microsoft's connector: the lead is brought up to date (its state
   * follows the referral to qualified) and an opportunity is created for the referral, which the link then follows.
   * The create is keyed by the referral id, so a crash between the two steps cannot make a second opportunity.
   */
  private async promoteLead(run: SyncRun, read: ReadReferral, link: Link): Promise<void> {
    const leadMapping = run.mapping('lead');
    const lead = await run.connector.read({ entity: 'lead', id: link.crmId }, await run.columns(leadMapping));
    if (lead) await this.reconciler.reconcile(run, { read, record: lead, mapping: leadMapping, link, origin: 'pc' });
    const mapping = run.mapping('opportunity');
    const existing = await run.connector.findByReferralId('opportunity', read.id, await run.columns(mapping));
    const promoted = run.note({ referralId: read.id, ref: { entity: 'lead', id: link.crmId }, direction: 'to-crm', outcome: 'written', message: 'referral accepted: lead promoted to an opportunity' });
    const fresh = await this.deps.referrals.get(read.id);
    const reread = readReferral(fresh.referral, fresh.eTag);
    if (existing) {
      await this.reconciler.reconcile(run, { read: reread, record: existing, mapping, link: null, origin: 'pc', audit: [promoted] });
    } else {
      await this.crmCreates.create(run, { read: reread, entity: 'opportunity', mapping, audit: [promoted] });
    }
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

  private recordFailure(run: SyncRun, link: Link, message: string): Promise<void> {
    return recordLinkFailure(this.deps.store, { link, cause: run.job.cause, message });
  }
}
