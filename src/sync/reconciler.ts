import type { CrmChangeBatch, CrmConnector, CrmEntityName } from '../crm/connector.ts';
import type { ReferralsClient } from '../partner-center/referrals-client.ts';
import { updatedSince } from '../partner-center/referrals-client.ts';
import type { JobRequest, Link, Store } from '../store/types.ts';
import type { Referral } from '../partner-center/model.ts';
import type { Logger } from '../util/logger.ts';
import type { BackfillResult } from './run/backfill.ts';
import { BatchPipeline } from './batch-pipeline.ts';

export const PARTNER_CENTER_WATERMARK = 'partner-center:referrals';
/** When the last refresh of Microsoft's side of open co-sell pairs started. */
export const MICROSOFT_SIDE_WATERMARK = 'partner-center:microsoft-side-refresh';
/**
 * Open referrals, whose Microsoft side can still move. One listing per status with `eq` alone: Partner Center's docs
 * show `eq` and `and` in referral filters, and whether `or` is accepted is UNCONFIRMED.
 */
const OPEN_REFERRAL_FILTERS = ["status eq 'New'", "status eq 'Active'"] as const;
/** Listed batches created and linked side by side in a pass (see `ReconcilerOptions.batchesInFlight`). */
export const BATCHES_IN_FLIGHT = 4;
export const crmWatermark = (connection: string, entity: CrmEntityName): string => `${connection}:${entity}`;

/** Why a pass ended early: the reconciler was stopped (shutdown, or this instance stopped leading). */
export class ReconcileStopped extends Error {
  override readonly name = 'ReconcileStopped';
  constructor() {
    super('reconcile pass stopped');
  }
}

export interface ReconcilerOptions {
  store: Store;
  referrals: ReferralsClient;
  connectors: readonly CrmConnector[];
  /** Which CRM tables are watched for changes. */
  entities: readonly CrmEntityName[];
  logger: Logger;
  intervalMs: number;
  /**
   * Listing starts this long before the watermark: Partner Center's updatedDateTime and the order in which changes
   * become visible to the list API need not agree, and re-enqueueing a few unchanged referrals costs only reads.
   */
  overlapMs: number;
  /** Where a first pass starts when there is no watermark yet. */
  initialLookbackMs: number;
  /** Enqueue in batches so a large backlog commits progress (and shows it) as it goes. */
  batchSize?: number;
  /**
   * Batches handled side by side (default BATCHES_IN_FLIGHT): a backfill batch spends most of its time waiting on
   * vendor calls, so while one waits the next page is listed and the next batch created. Bounds what a pass holds.
   */
  batchesInFlight?: number;
  /**
   * Bulk path for unlinked referrals (connectors with a bulk API): returns the referral ids it created and linked, which
   * then need no job.
   */
  backfill?: (connection: string, referrals: readonly Referral[], before?: Promise<readonly Referral[]>) => Promise<BackfillResult>;
  /** How often a pass also re-reads Microsoft's side of open co-sell pairs (0 or absent: never). */
  microsoftSideRefreshMs?: number;
  /**
   * Called before each batch is queued; resolves when the queue has room (the engine waits while more than a bound of
   * jobs are pending and the worker is draining them), so a backlog of thousands streams through a bounded queue.
   */
  queueRoom?: () => Promise<void>;
  /** Runs a batch's backfills while no job of those referrals runs (see `PairSync.exclusive`). */
  exclusive?: <T>(referralIds: readonly string[], task: () => Promise<T>) => Promise<T>;
}

/** Where the pass in flight is (for `cosell status` and the console), or the last one once it finished. */
export interface ReconcileProgress {
  running: boolean;
  startedAt: string;
  finishedAt: string | null;
  /** Distinct Partner Center referrals listed so far. */
  referrals: number;
  /** Of those, created and linked through a CRM's bulk API (summed over connections). */
  backfilled: number;
  /** Jobs queued for them (summed over connections). */
  queued: number;
}

export interface ReconcileReport {
  referrals: number;
  crm: Record<string, number>;
  partnerCenterWatermark: string;
  /** Co-sell pairs queued to re-read Microsoft's side (0 when no refresh was due). */
  microsoftSideRefreshed: number;
}

/**
 * The safety net: lists what changed on every side since a persisted watermark and enqueues it. A watermark moves
 * only after the jobs it covers are committed, so a crash mid-pass re-lists rather than skips.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by start and stop: a schedule whose number is not current ends. */
  private schedule = 0;
  /** Aborted by stop(): passes under way end at their next batch, their watermarks where the last committed batch left them. */
  private halt = new AbortController();
  private running: Promise<ReconcileReport> | undefined;
  private current: ReconcileProgress | null = null;

  constructor(private readonly options: ReconcilerOptions) {}

  /**
   * Runs a first pass right away (what changed while the service was down), then one every interval. Started again
   * after a stop (leadership regained), the old schedule stays dead even if its last pass ends after the new start.
   */
  start(options: { immediately?: boolean } = {}): void {
    if (this.timer) return;
    const schedule = ++this.schedule;
    const firstDelay = options.immediately === false ? this.options.intervalMs : 0;
    const loop = (delay: number) => {
      this.timer = setTimeout(() => {
        void this.runOnce()
          .catch((error: unknown) => {
            if (error instanceof ReconcileStopped) this.options.logger.info('reconcile pass stopped before its end; the next one resumes from its watermarks');
            else this.options.logger.error({ error: error instanceof Error ? error.message : String(error) }, 'reconcile pass failed');
          })
          .then(() => {
            if (this.timer && schedule === this.schedule) loop(this.options.intervalMs);
          });
      }, delay);
      this.timer.unref();
    };
    loop(firstDelay);
  }

  /**
   * Ends the schedule and the pass under way at its next batch (a first pass over thousands of referrals would
   * otherwise hold a shutdown, or keep a former leader reconciling next to the new one); resolves once it ended.
   */
  async stop(): Promise<void> {
    this.schedule++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const halt = this.halt;
    this.halt = new AbortController();
    halt.abort(new ReconcileStopped());
    await this.running?.catch(() => undefined);
  }

  /** The pass in flight, else the last one (null before the first). */
  progress(): ReconcileProgress | null {
    return this.current ? { ...this.current } : null;
  }

  /** One pass; concurrent callers share the pass in flight. */
  runOnce(options: { since?: string } = {}): Promise<ReconcileReport> {
    if (this.running && options.since === undefined) return this.running;
    const pass: Promise<ReconcileReport> = this.pass(options.since, this.halt.signal).finally(() => {
      if (this.current?.running) Object.assign(this.current, { running: false, finishedAt: new Date().toISOString() });
      if (this.running === pass) this.running = undefined;
    });
    this.running = pass;
    return pass;
  }

  private async pass(since: string | undefined, signal: AbortSignal): Promise<ReconcileReport> {
    const { store, referrals, logger } = this.options;
    const batchSize = this.options.batchSize ?? 200;
    const stored = await store.sync.getWatermark(PARTNER_CENTER_WATERMARK);
    const startMs = Date.parse(since ?? stored ?? new Date(Date.now() - this.options.initialLookbackMs).toISOString());
    const from = new Date(startMs - (since === undefined ? this.options.overlapMs : 0)).toISOString();
    let newest = stored !== null ? Date.parse(stored) : startMs;
    let batch: Referral[] = [];
    // Distinct referrals: a referral written during the pass (a backfill's "CRM ID") moves to the end of the listing and
    // is listed twice.
    const seen = new Set<string>();
    const progress: ReconcileProgress = { running: true, startedAt: new Date().toISOString(), finishedAt: null, referrals: 0, backfilled: 0, queued: 0 };
    this.current = progress;
    // The CRMs' change reads (Dataverse change tracking, Salesforce's poll) come first: they are a few cheap calls, while
    // a first Partner Center listing can take minutes; an instance that just became leader resumes them at once.
    const crm = await this.enqueueCrmChanges(batchSize, signal);
    // Batches overlap: the next page is listed, and the next batches created and linked, while earlier ones wait on their
    // vendor calls. Bounded, so at most this many batches of referrals are held at once.
    const pipeline = new BatchPipeline(this.options.batchesInFlight ?? BATCHES_IN_FLIGHT);
    const flush = async () => {
      if (batch.length === 0) return;
      const listed = batch;
      batch = [];
      await pipeline.add(async () => {
        signal.throwIfAborted();
        await this.options.queueRoom?.();
        const { backfilled, queued } = await this.enqueueListed(listed);
        progress.backfilled += backfilled;
        progress.queued += queued;
        logger.info({ referrals: seen.size, backfilled: progress.backfilled, queued: progress.queued }, 'reconcile: Partner Center referrals enqueued so far');
      });
    };
    try {
      for await (const referral of referrals.list(updatedSince(from))) {
        if (typeof referral.id !== 'string') continue;
        batch.push(referral);
        const updated = typeof referral.updatedDateTime === 'string' ? Date.parse(referral.updatedDateTime) : Number.NaN;
        if (Number.isFinite(updated) && updated > newest) newest = updated;
        seen.add(referral.id);
        progress.referrals = seen.size;
        if (batch.length >= batchSize) await flush();
      }
      await flush();
    } finally {
      // A listing that failed still waits for the batches under way: their locks and commits end before the pass does.
      await pipeline.drain();
    }
    const count = seen.size;
    const watermark = new Date(newest).toISOString();
    await store.sync.setWatermark(PARTNER_CENTER_WATERMARK, watermark);

    const microsoftSideRefreshed = await this.refreshMicrosoftSide(signal);
    Object.assign(progress, { running: false, finishedAt: new Date().toISOString() });
    // A pass that found nothing is the idle heartbeat: debug, so an idle service's log stays quiet.
    const found = count > 0 || microsoftSideRefreshed > 0 || Object.values(crm).some((n) => n > 0);
    logger[found ? 'info' : 'debug']({ referrals: count, crm, watermark, microsoftSideRefreshed }, 'reconcile pass done');
    return { referrals: count, crm, partnerCenterWatermark: watermark, microsoftSideRefreshed };
  }

  /** Each connection's CRM changes since its watermark, as jobs (pairs whose version we committed need none). */
  private async enqueueCrmChanges(batchSize: number, signal: AbortSignal): Promise<Record<string, number>> {
    const { store, connectors, entities } = this.options;
    const crm: Record<string, number> = {};
    for (const connector of connectors) {
      let total = 0;
      for (const entity of entities) {
        signal.throwIfAborted();
        const key = crmWatermark(connector.name, entity);
        const batch = await connector.changesSince(entity, await store.sync.getWatermark(key));
        const changed: typeof batch.refs = [];
        for (const ref of batch.refs) if (!(await this.crmSettled(connector.name, ref))) changed.push(ref);
        for (let i = 0; i < changed.length; i += batchSize) {
          await store.jobs.enqueue(
            changed.slice(i, i + batchSize).map(({ entity, id }) => ({ connection: connector.name, cause: 'reconcile' as const, crm: { entity, id } })),
          );
        }
        await store.sync.setWatermark(key, batch.cursor);
        total += batch.refs.length;
      }
      crm[connector.name] = total;
    }
    return crm;
  }

  /** One batch of listed referrals: bulk backfill where a connector has it, then a job per pair that needs one. */
  private async enqueueListed(batch: readonly Referral[]): Promise<{ backfilled: number; queued: number }> {
    const requests: JobRequest[] = [];
    let backfilled = 0;
    const backfillAll = async () => {
      const { backfill } = this.options;
      // Every connection's creates run at once; in registry order, each links against the referrals as the one before it
      // left them, so the one owning "CRM ID" writes it first and the next ones link its new version (eTag).
      let before: Promise<readonly Referral[]> | undefined;
      const runs = this.options.connectors.map((c) => {
        const run = backfill ? backfill(c.name, batch, before) : Promise.resolve({ linked: new Set<string>(), referrals: batch });
        before = run.then((result) => result.referrals);
        // Handled here too: a run that fails before waiting for its predecessor must not leave that rejection unhandled.
        before.catch(() => undefined);
        return run;
      });
      // All settled before the batch's locks are released, even when one failed.
      const settled = await Promise.allSettled(runs);
      for (const [i, c] of this.options.connectors.entries()) {
        const outcome = settled[i];
        if (outcome?.status === 'rejected') throw outcome.reason;
        if (outcome?.status !== 'fulfilled') continue;
        const { linked, referrals } = outcome.value;
        backfilled += linked.size;
        for (const referral of referrals) {
          const { id } = referral;
          if (!linked.has(id) && !(await this.settled(c.name, referral))) requests.push({ connection: c.name, cause: 'reconcile', referralId: id });
        }
      }
    };
    const { exclusive } = this.options;
    await (exclusive && this.options.backfill ? exclusive(batch.map((r) => r.id), backfillAll) : backfillAll());
    await this.options.store.jobs.enqueue(requests);
    return { backfilled, queued: requests.length };
  }

  /**
   * The listing shows the very version of the referral the pair last committed (its eTag), with no write of ours left
   * unfinished: nothing changed on Partner Center's side, so the pair needs no job for it (changes on the CRM side come
   * through the CRM's own listing below). This is what makes a quiet pass cost listing pages only, and what keeps a
   * backfill's own "CRM ID" writes, which move each referral to the end of an updatedDateTime listing, from coming back
   * as a second round of jobs.
   */
  private async settled(connection: string, referral: Referral): Promise<boolean> {
    const link = await this.options.store.sync.getLink(connection, referral.id);
    return link !== null && link.pcEtag !== null && link.pcEtag === referral.eTag && (await this.nothingPending(link));
  }

  /** The same on the CRM side: the listing shows the record's version the pair last committed. */
  private async crmSettled(connection: string, ref: CrmChangeBatch['refs'][number]): Promise<boolean> {
    const link = ref.version === undefined ? null : await this.options.store.sync.findLinkByCrm(connection, ref.entity, ref.id);
    return link !== null && link.crmVersion !== null && link.crmVersion === ref.version && (await this.nothingPending(link));
  }

  private async nothingPending(link: Link): Promise<boolean> {
    return link.syncState === 'ok' && (await this.options.store.sync.getIntent(link.connection, link.referralId, link.crmEntity)) === null;
  }

  /**
   * When due, queues every linked open co-sell pair to re-read Microsoft's referral in its engagement. Microsoft's
   * changes arrive only as related-referral-* webhooks, and the partner's own referral does not move with them, so a
   * lost one is invisible to the pass above. Costs one list call per 100 open referrals, then a sync per pair.
   */
  private async refreshMicrosoftSide(signal: AbortSignal): Promise<number> {
    const { store, referrals, connectors, logger } = this.options;
    const every = this.options.microsoftSideRefreshMs ?? 0;
    if (every <= 0) return 0;
    const last = await store.sync.getWatermark(MICROSOFT_SIDE_WATERMARK);
    const started = new Date().toISOString();
    if (last === null) {
      // The first pass only starts the clock: every pair it (back)filled was just read, and a first start with
      // thousands of referrals should cost their bulk creates, not a second per-pair sync right after.
      await store.sync.setWatermark(MICROSOFT_SIDE_WATERMARK, started);
      return 0;
    }
    if (Date.now() - Date.parse(last) < every) return 0;
    const batchSize = this.options.batchSize ?? 200;
    let batch: JobRequest[] = [];
    let queued = 0;
    const flush = async () => {
      signal.throwIfAborted();
      await store.jobs.enqueue(batch);
      queued += batch.length;
      batch = [];
    };
    for (const filter of OPEN_REFERRAL_FILTERS) {
      for await (const referral of referrals.list({ filter })) {
        if (referral.type !== 'Shared' || typeof referral.id !== 'string') continue;
        for (const c of connectors) {
          if (await store.sync.getLink(c.name, referral.id)) batch.push({ connection: c.name, cause: 'reconcile', referralId: referral.id, microsoftSide: true });
        }
        if (batch.length >= batchSize) await flush();
      }
    }
    await flush();
    await store.sync.setWatermark(MICROSOFT_SIDE_WATERMARK, started);
    logger.info({ pairs: queued }, "reconcile: queued open co-sell pairs to re-read Microsoft's side");
    return queued;
  }
}
