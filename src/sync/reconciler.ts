import type { CrmConnector, CrmEntityName } from '../crm/connector.ts';
import type { ReferralsClient } from '../partner-center/referrals-client.ts';
import { updatedSince } from '../partner-center/referrals-client.ts';
import type { JobRequest, Store } from '../store/types.ts';
import type { Referral } from '../partner-center/model.ts';
import type { Logger } from '../util/logger.ts';

export const PARTNER_CENTER_WATERMARK = 'partner-center:referrals';
/** When the last refresh of Microsoft's side of open co-sell pairs started. */
export const MICROSOFT_SIDE_WATERMARK = 'partner-center:microsoft-side-refresh';
/**
 * Open referrals, whose Microsoft side can still move. One listing per status with `eq` alone: Partner Center's docs
 * show `eq` and `and` in referral filters, and whether `or` is accepted is UNCONFIRMED.
 */
const OPEN_REFERRAL_FILTERS = ["status eq 'New'", "status eq 'Active'"] as const;
export const crmWatermark = (connection: string, entity: CrmEntityName): string => `${connection}:${entity}`;

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
   * Bulk path for unlinked referrals (connectors with a bulk API): returns the referral ids it created and linked, which
   * then need no job.
   */
  backfill?: (connection: string, referrals: readonly Referral[]) => Promise<Set<string>>;
  /** How often a pass also re-reads Microsoft's side of open co-sell pairs (0 or absent: never). */
  microsoftSideRefreshMs?: number;
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
  private running: Promise<ReconcileReport> | undefined;

  constructor(private readonly options: ReconcilerOptions) {}

  /** Runs a first pass right away (what changed while the service was down), then one every interval. */
  start(options: { immediately?: boolean } = {}): void {
    const firstDelay = options.immediately === false ? this.options.intervalMs : 0;
    const loop = (delay: number) => {
      this.timer = setTimeout(async () => {
        await this.runOnce().catch((error: unknown) =>
          this.options.logger.error({ error: error instanceof Error ? error.message : String(error) }, 'reconcile pass failed'),
        );
        if (this.timer) loop(this.options.intervalMs);
      }, delay);
      this.timer.unref();
    };
    loop(firstDelay);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pass; concurrent callers share the pass in flight. */
  runOnce(options: { since?: string } = {}): Promise<ReconcileReport> {
    if (this.running && options.since === undefined) return this.running;
    const pass: Promise<ReconcileReport> = this.pass(options.since).finally(() => {
      if (this.running === pass) this.running = undefined;
    });
    this.running = pass;
    return pass;
  }

  private async pass(since: string | undefined): Promise<ReconcileReport> {
    const { store, referrals, connectors, entities, logger } = this.options;
    const batchSize = this.options.batchSize ?? 200;
    const stored = store.sync.getWatermark(PARTNER_CENTER_WATERMARK);
    const startMs = Date.parse(since ?? stored ?? new Date(Date.now() - this.options.initialLookbackMs).toISOString());
    const from = new Date(startMs - (since === undefined ? this.options.overlapMs : 0)).toISOString();
    let newest = stored !== null ? Date.parse(stored) : startMs;
    let batch: Referral[] = [];
    let count = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const requests: JobRequest[] = [];
      for (const c of connectors) {
        const linked = (await this.options.backfill?.(c.name, batch)) ?? new Set<string>();
        for (const referral of batch) {
          const { id } = referral;
          if (!linked.has(id)) requests.push({ connection: c.name, cause: 'reconcile', referralId: id });
        }
      }
      await store.jobs.enqueue(requests);
      batch = [];
    };
    for await (const referral of referrals.list(updatedSince(from))) {
      if (typeof referral.id !== 'string') continue;
      batch.push(referral);
      const updated = typeof referral.updatedDateTime === 'string' ? Date.parse(referral.updatedDateTime) : Number.NaN;
      if (Number.isFinite(updated) && updated > newest) newest = updated;
      count++;
      if (batch.length >= batchSize) {
        await flush();
        logger.info({ referrals: count }, 'reconcile: Partner Center referrals enqueued so far');
      }
    }
    await flush();
    const watermark = new Date(newest).toISOString();
    store.sync.setWatermark(PARTNER_CENTER_WATERMARK, watermark);

    const crm: Record<string, number> = {};
    for (const connector of connectors) {
      let total = 0;
      for (const entity of entities) {
        const key = crmWatermark(connector.name, entity);
        const batch = await connector.changesSince(entity, store.sync.getWatermark(key));
        for (let i = 0; i < batch.refs.length; i += batchSize) {
          await store.jobs.enqueue(
            batch.refs.slice(i, i + batchSize).map((ref) => ({ connection: connector.name, cause: 'reconcile' as const, crm: ref })),
          );
        }
        store.sync.setWatermark(key, batch.cursor);
        total += batch.refs.length;
      }
      crm[connector.name] = total;
    }
    const microsoftSideRefreshed = await this.refreshMicrosoftSide();
    // A pass that found nothing is the idle heartbeat: debug, so an idle service's log stays quiet.
    const found = count > 0 || microsoftSideRefreshed > 0 || Object.values(crm).some((n) => n > 0);
    logger[found ? 'info' : 'debug']({ referrals: count, crm, watermark, microsoftSideRefreshed }, 'reconcile pass done');
    return { referrals: count, crm, partnerCenterWatermark: watermark, microsoftSideRefreshed };
  }

  /**
   * When due, queues every linked open co-sell pair to re-read Microsoft's referral in its engagement. Microsoft's
   * changes arrive only as related-referral-* webhooks, and the partner's own referral does not move with them, so a
   * lost one is invisible to the pass above. Costs one list call per 100 open referrals, then a sync per pair.
   */
  private async refreshMicrosoftSide(): Promise<number> {
    const { store, referrals, connectors, logger } = this.options;
    const every = this.options.microsoftSideRefreshMs ?? 0;
    if (every <= 0) return 0;
    const last = store.sync.getWatermark(MICROSOFT_SIDE_WATERMARK);
    const started = new Date().toISOString();
    if (last === null) {
      // The first pass only starts the clock: every pair it (back)filled was just read, and a first start with
      // thousands of referrals should cost their bulk creates, not a second per-pair sync right after.
      store.sync.setWatermark(MICROSOFT_SIDE_WATERMARK, started);
      return 0;
    }
    if (Date.now() - Date.parse(last) < every) return 0;
    const batchSize = this.options.batchSize ?? 200;
    let batch: JobRequest[] = [];
    let queued = 0;
    const flush = async () => {
      await store.jobs.enqueue(batch);
      queued += batch.length;
      batch = [];
    };
    for (const filter of OPEN_REFERRAL_FILTERS) {
      for await (const referral of referrals.list({ filter })) {
        if (referral.type !== 'Shared' || typeof referral.id !== 'string') continue;
        for (const c of connectors) {
          if (store.sync.getLink(c.name, referral.id)) batch.push({ connection: c.name, cause: 'reconcile', referralId: referral.id, microsoftSide: true });
        }
        if (batch.length >= batchSize) await flush();
      }
    }
    await flush();
    store.sync.setWatermark(MICROSOFT_SIDE_WATERMARK, started);
    logger.info({ pairs: queued }, "reconcile: queued open co-sell pairs to re-read Microsoft's side");
    return queued;
  }
}
