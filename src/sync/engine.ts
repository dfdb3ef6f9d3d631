import type { Config } from '../config/schema.ts';
import type { ChangeSink, CrmConnector, CrmRecordRef } from '../crm/connector.ts';
import { configuredCrms } from '../crm/vendors.ts';
import type { HttpCallRecord } from '../http/call-record.ts';
import type { ReferralsClient } from '../partner-center/referrals-client.ts';
import { LocalLeadership, type Leadership } from '../store/leadership.ts';
import type { Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import { bindMapping } from './binding.ts';
import { customerColumnsOf } from './mapping/customer-mapping.ts';
import { checkMappingAgainstCrm, crmHost, type ConnectionAvailability } from './connection-availability.ts';
import { loadMappingFile, type MappingSpec } from './mapping/index.ts';
import { mergeRecord } from './merge/index.ts';
import { PairSync, type ConnectionSetup } from './pair-sync.ts';
import { Reconciler } from './reconciler.ts';
import { RunnerExecutor, type JobExecutor } from './executor.ts';
import { outcomePolicy, Worker } from './worker.ts';

export interface LoadedConnection extends ConnectionSetup {
  spec: MappingSpec;
}

/**
 * Partner Center keeps one CRM id per referral (the opportunity's id in Microsoft's CRM-sync fields), so one connection
 * alone may write it: the first one configured, in registry order. A second CRM syncs the same referral without
 * touching that id.
 */
export function ownsReferralCrmId(position: number): boolean {
  return position === 0;
}

/**
 * Builds every configured CRM connection and checks its mapping against the CRM's live metadata, so a broken mapping
 * stops start-up (exit code 2) instead of failing record by record. With `availability` (the service), a CRM that
 * does not answer is marked unavailable instead, and checked again once the engine starts.
 */
export async function loadConnections(
  config: Config,
  logger: Logger,
  onCall?: (call: HttpCallRecord) => void,
  availability?: ConnectionAvailability,
): Promise<Map<string, LoadedConnection>> {
  const connections = new Map<string, LoadedConnection>();
  for (const [position, crm] of configuredCrms(config).entries()) {
    if (connections.has(crm.name)) throw new Error(`two connections are named "${crm.name}"; give one another name`);
    const connector = await crm.connect({ logger, reconcileOverlapMs: config.sync.reconcileOverlapSeconds * 1000, ...(onCall ? { onCall } : {}) });
    const spec = await loadMappingFile(config.mappings[crm.kind] ?? crm.defaultMappingPath, crm.kind, crm.mappingOptions);
    const check = (): Promise<void> => checkMappingAgainstCrm(connector, spec);
    await (availability ? availability.checkAtStart(crm.name, crmHost(config, crm.kind), check) : check());
    const customerColumns = customerColumnsOf(spec);
    if (customerColumns) connector.useCustomerColumns?.(customerColumns);
    connections.set(connector.name, {
      connector,
      spec,
      mappings: bindMapping(spec),
      policy: { leads: connector.leadsEnabled, ownsReferralCrmId: ownsReferralCrmId(position) },
      ...(crm.notifiedChanges ? { notifiedChanges: crm.notifiedChanges } : {}),
    });
  }
  return connections;
}

export interface Engine {
  connections: ReadonlyMap<string, LoadedConnection>;
  /** Runs the jobs on every instance, leader or not: the Worker (SQLite) or graphile-worker's runner (PostgreSQL). */
  worker: JobExecutor;
  /** Runs (on its schedule) only while this instance leads; `runOnce` may still be called directly. */
  reconciler: Reconciler;
  /** What decides whether this instance runs the reconciler and the change streams. */
  leadership: Leadership;
  start(): void;
  stop(): Promise<void>;
}

/** A connector's change stream (Salesforce CDC), if it has one; a stream that fails to start leaves the reconciler. */
function startChangeStream(connector: CrmConnector, sink: ChangeSink, logger: Logger): Promise<(() => Promise<void>) | undefined> | undefined {
  return connector.startChangeStream?.(sink).catch((error: unknown) => {
    logger.error({ connection: connector.name, error: error instanceof Error ? error.message : String(error) }, 'change stream did not start; relying on the reconciler');
    return undefined;
  });
}

/** Where a connector's own change stream (Salesforce CDC) delivers: jobs with the stream's resume point. */
function changeSink(options: { store: Store; reconciler: Reconciler; logger: Logger; connector: CrmConnector }): ChangeSink {
  const { store, reconciler, logger, connector } = options;
  return {
    cursor: (key) => store.sync.getWatermark(key),
    record: async (refs, cursorKey, cursor, notification) => {
      const job = (ref: CrmRecordRef) => ({ connection: connector.name, cause: 'event' as const, crm: ref, microsoftSide: false });
      const watermark = { source: cursorKey, value: cursor };
      if (!notification || refs.length === 0) return store.jobs.enqueue(refs.map(job), watermark);
      // One inbox row per record (what its sync reads back), each with its job; the last one carries the cursor, so
      // the cursor commits with or after every row.
      await Promise.all(
        refs.map((ref, i) =>
          store.inbox.append({
            source: connector.kind,
            dedupKey: `${notification.dedupKey}:${ref.id}`,
            eventName: notification.eventName,
            resourceId: ref.id,
            payload: notification.payload,
            jobs: [job(ref)],
            ...(i === refs.length - 1 ? { watermark } : {}),
          }),
        ),
      );
    },
    requestReconcile: (reason) => {
      logger.warn({ connection: connector.name, reason }, 'change stream lost events; reconciling');
      reconciler.runOnce().catch((error: unknown) =>
        logger.error({ error: error instanceof Error ? error.message : String(error) }, 'reconcile after a stream gap failed'),
      );
    },
  };
}

/**
 * Pending jobs a reconcile pass lets pile up before it waits for the worker: a first pass over 10,000 referrals
 * otherwise queued 18,000 jobs at once. A few listing batches' worth keeps the worker busy while the listing goes on.
 */
export const MAX_PENDING_JOBS = 1_000;
const QUEUE_POLL_MS = 50;

/** Resolves once the queue is under MAX_PENDING_JOBS, or at once when no worker is draining it (then waiting is futile). */
async function roomInQueue(store: Store, worker: JobExecutor): Promise<void> {
  while (worker.started && (await store.jobs.depth()) >= MAX_PENDING_JOBS) await new Promise((resolve) => setTimeout(resolve, QUEUE_POLL_MS));
}

/**
 * The job executor for the store's queue: the Worker pulls a leased queue (the availability gate postpones a claimed
 * job of an unavailable connection); a runner queue pushes jobs to a handler that asks the same gate first. Both decide
 * retry / dead letter with decideJobOutcome under the same policy.
 *
 * PostgreSQL pool: the runner wants pool.max >= concurrency + 3 (its LISTEN client, fetch and completion, plus the
 * handlers' own queries) and warns below it (job-queue.ts); the advisory locks the sync holds (pair and customer keys)
 * use connections of their own (PostgresStore's lock pool), so they add nothing to this bound and cannot starve it.
 */
function createExecutor(options: {
  store: Store;
  pairSync: PairSync;
  config: Config;
  logger: Logger;
  availability: ConnectionAvailability | undefined;
  onJobOutcome: ((outcome: 'done' | 'retry' | 'dead', durationMs: number) => void) | undefined;
}): JobExecutor {
  const { store, pairSync, config, availability, onJobOutcome } = options;
  const logger = options.logger.child({ component: 'worker' });
  const onOutcome = onJobOutcome ? (outcome: 'done' | 'retry' | 'dead', _job: unknown, ms: number) => onJobOutcome(outcome, ms) : undefined;
  const tuning = { concurrency: config.sync.concurrency, maxAttempts: config.sync.maxAttempts };
  if (store.jobs.kind === 'leased') {
    return new Worker({ jobs: availability?.gate(store.jobs) ?? store.jobs, handler: pairSync.handler, logger, ...tuning, ...(onOutcome ? { onOutcome } : {}) });
  }
  return new RunnerExecutor({
    queue: store.jobs,
    handler: pairSync.handler,
    logger,
    concurrency: tuning.concurrency,
    policy: outcomePolicy(tuning),
    ...(availability ? { gate: (job) => availability.postponement(job) } : {}),
    ...(onOutcome ? { onOutcome } : {}),
  });
}

/**
 * The leader's work: the reconciler's schedule (with the Microsoft-side refresh and backfill) and the connectors'
 * change streams (Salesforce CDC; Dataverse change tracking runs in the reconciler's CRM listing), which must be
 * single across instances. Transitions run one after another, so a stop racing a start waits for the start's streams
 * to finish subscribing and stops them: none is left running after a `false`.
 */
class LeaderWork {
  private leading = false;
  /** Connections whose stream may run: available at start, or once their start-up check passed. */
  private readonly ready = new Set<CrmConnector>();
  private readonly streams: Array<Promise<(() => Promise<void>) | undefined>> = [];
  private transitions: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly options: {
      reconciler: Reconciler;
      reconcileOnStart: boolean;
      sinkFor: (connector: CrmConnector) => ChangeSink;
      logger: Logger;
    },
  ) {}

  /** A connection's stream may run now; it starts at once if this instance leads. */
  connectionReady(connector: CrmConnector): void {
    void this.enqueue(() => {
      this.ready.add(connector);
      if (this.leading) this.startStream(connector);
    });
  }

  lead(leader: boolean): Promise<void> {
    return this.enqueue(() => (leader ? this.up() : this.down()));
  }

  private up(): void {
    if (this.leading) return;
    this.leading = true;
    this.options.logger.info('leading: running the reconciler and change streams');
    this.options.reconciler.start({ immediately: this.options.reconcileOnStart });
    for (const connector of this.ready) this.startStream(connector);
  }

  private async down(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    for (const stop of await Promise.all(this.streams.splice(0))) await stop?.();
    await this.options.reconciler.stop();
    this.options.logger.info('not leading: reconciler and change streams stopped');
  }

  private startStream(connector: CrmConnector): void {
    const started = startChangeStream(connector, this.options.sinkFor(connector), this.options.logger);
    if (started) this.streams.push(started);
  }

  /**
   * Runs `step` after the ones before it; with none pending it runs at once, so `engine.start()` has started the
   * reconciler and asked for the streams by the time it returns. Never rejects: a failed step (a stream's stop threw)
   * is logged and does not wedge the ones after it.
   */
  private enqueue(step: () => void | Promise<void>): Promise<void> {
    if (this.pending === 0) {
      let result: void | Promise<void>;
      try {
        result = step();
      } catch (error) {
        this.failed(error);
        return Promise.resolve();
      }
      return result ? this.track(result) : Promise.resolve();
    }
    return this.track(this.transitions.then(step));
  }

  private track(step: Promise<void>): Promise<void> {
    this.pending++;
    this.transitions = step
      .catch((error: unknown) => this.failed(error))
      .finally(() => {
        this.pending--;
      });
    return this.transitions;
  }

  private failed(error: unknown): void {
    this.options.logger.error({ err: error }, 'leadership transition failed');
  }
}

/**
 * Checks each connection: one available at start is ready at once; one down at start-up is ready once its start-up
 * check passes (retried in the background whether or not this instance leads, since its jobs wait on it too).
 */
function watchConnections(
  connections: ReadonlyMap<string, LoadedConnection>,
  availability: ConnectionAvailability | undefined,
  ready: (connector: CrmConnector) => void,
): void {
  for (const { connector, spec } of connections.values()) {
    if (availability && !availability.isAvailable(connector.name)) {
      availability.recover(connector.name, () => checkMappingAgainstCrm(connector, spec), () => ready(connector));
    } else ready(connector);
  }
}

function createReconciler(options: {
  config: Config;
  store: Store;
  referrals: ReferralsClient;
  connectors: readonly CrmConnector[];
  logger: Logger;
  pairSync: PairSync;
  worker: JobExecutor;
}): Reconciler {
  const { config, store, pairSync, worker } = options;
  return new Reconciler({
    store,
    referrals: options.referrals,
    connectors: options.connectors,
    entities: ['opportunity', 'lead'],
    logger: options.logger.child({ component: 'reconciler' }),
    intervalMs: config.sync.reconcileIntervalSeconds * 1000,
    overlapMs: config.sync.reconcileOverlapSeconds * 1000,
    initialLookbackMs: config.sync.initialLookbackHours * 3_600_000,
    microsoftSideRefreshMs: config.sync.microsoftSideRefreshHours * 3_600_000,
    backfill: (connection, referrals, before) => pairSync.backfill(connection, referrals, 'reconcile', before),
    queueRoom: () => roomInQueue(store, worker),
    exclusive: (referralIds, task) => pairSync.exclusive(referralIds, task),
  });
}

export function createEngine(options: {
  config: Config;
  store: Store;
  referrals: ReferralsClient;
  connections: ReadonlyMap<string, LoadedConnection>;
  logger: Logger;
  onJobOutcome?: (outcome: 'done' | 'retry' | 'dead', durationMs: number) => void;
  /** Connections that were down at start-up: their jobs wait, and their start-up check is retried. */
  availability?: ConnectionAvailability;
  /**
   * Who runs the reconciler and change streams. Absent: a LocalLeadership the engine starts and stops itself (one
   * process, always leader). Given: the caller starts and stops it; the engine only follows its changes.
   */
  leadership?: Leadership;
}): Engine {
  const { config, store, referrals, connections, logger, availability } = options;
  const pairSync = new PairSync({ store, referrals, connections, merge: mergeRecord, logger: logger.child({ component: 'sync' }), backfillWritesInFlight: config.sync.backfillWritesInFlight });
  const worker = createExecutor({ store, pairSync, config, logger, availability, onJobOutcome: options.onJobOutcome });
  const connectors: CrmConnector[] = [...connections.values()].map((c) => c.connector);
  const reconciler = createReconciler({ config, store, referrals, connectors, logger, pairSync, worker });
  const ownLeadership = options.leadership === undefined;
  const leadership = options.leadership ?? new LocalLeadership((error) => logger.error({ err: error }, 'leadership listener failed'));
  const leaderWork = new LeaderWork({
    reconciler,
    reconcileOnStart: config.sync.reconcileOnStart,
    sinkFor: (connector) => changeSink({ store, reconciler, logger, connector }),
    logger,
  });
  let unsubscribe: (() => void) | undefined;
  return {
    connections,
    worker,
    reconciler,
    leadership,
    start() {
      if (unsubscribe) return;
      worker.start();
      unsubscribe = leadership.onChange((leader) => void leaderWork.lead(leader));
      watchConnections(connections, availability, (connector) => void leaderWork.connectionReady(connector));
      if (leadership.isLeader) void leaderWork.lead(true);
      if (ownLeadership) void leadership.start();
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      await availability?.stop();
      if (ownLeadership) await leadership.stop();
      // Stops the streams (also ones still subscribing) and the reconciler, after any transition under way.
      await leaderWork.lead(false);
      await worker.stop();
      for (const c of connectors) await c.close?.();
    },
  };
}
