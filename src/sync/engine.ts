import type { Config } from '../config/schema.ts';
import type { ChangeSink, CrmConnector, CrmRecordRef } from '../crm/connector.ts';
import { configuredCrms } from '../crm/vendors.ts';
import type { HttpCallRecord } from '../http/call-record.ts';
import type { ReferralsClient } from '../partner-center/referrals-client.ts';
import type { Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import { bindMapping } from './binding.ts';
import { checkMappingAgainstCrm, crmHost, type ConnectionAvailability } from './connection-availability.ts';
import { loadMappingFile, type MappingSpec } from './mapping/index.ts';
import { mergeRecord } from './merge/index.ts';
import { PairSync, type ConnectionSetup } from './pair-sync.ts';
import { Reconciler } from './reconciler.ts';
import { Worker } from './worker.ts';

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
  worker: Worker;
  reconciler: Reconciler;
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
async function roomInQueue(store: Store, worker: Worker): Promise<void> {
  while (worker.started && (await store.jobs.depth()) >= MAX_PENDING_JOBS) await new Promise((resolve) => setTimeout(resolve, QUEUE_POLL_MS));
}

/** Starts each connection (its change stream): at once, or for one down at start-up once its start-up check passes. */
function startConnections(
  connections: ReadonlyMap<string, LoadedConnection>,
  availability: ConnectionAvailability | undefined,
  start: (connector: CrmConnector) => void,
): void {
  for (const { connector, spec } of connections.values()) {
    if (availability && !availability.isAvailable(connector.name)) {
      availability.recover(connector.name, () => checkMappingAgainstCrm(connector, spec), () => start(connector));
    } else start(connector);
  }
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
}): Engine {
  const { config, store, referrals, connections, logger, availability } = options;
  const pairSync = new PairSync({ store, referrals, connections, merge: mergeRecord, logger: logger.child({ component: 'sync' }) });
  const worker = new Worker({
    jobs: availability?.gate(store.jobs) ?? store.jobs,
    handler: pairSync.handler,
    logger: logger.child({ component: 'worker' }),
    concurrency: config.sync.concurrency,
    maxAttempts: config.sync.maxAttempts,
    ...(options.onJobOutcome ? { onOutcome: (outcome, _job, ms) => options.onJobOutcome?.(outcome, ms) } : {}),
  });
  const connectors: CrmConnector[] = [...connections.values()].map((c) => c.connector);
  const reconciler = new Reconciler({
    store,
    referrals,
    connectors,
    entities: ['opportunity', 'lead'],
    logger: logger.child({ component: 'reconciler' }),
    intervalMs: config.sync.reconcileIntervalSeconds * 1000,
    overlapMs: config.sync.reconcileOverlapSeconds * 1000,
    initialLookbackMs: config.sync.initialLookbackHours * 3_600_000,
    microsoftSideRefreshMs: config.sync.microsoftSideRefreshHours * 3_600_000,
    backfill: (connection, referrals) => pairSync.backfill(connection, referrals),
    queueRoom: () => roomInQueue(store, worker),
    exclusive: (referralIds, task) => pairSync.exclusive(referralIds, task),
  });
  // Streams still subscribing when stop() comes are waited for and stopped too: one that finished subscribing after
  // the engine stopped would hold its connection open and keep the process alive.
  const streams: Array<Promise<(() => Promise<void>) | undefined>> = [];
  const sinkFor = (connector: CrmConnector): ChangeSink => changeSink({ store, reconciler, logger, connector });
  return {
    connections,
    worker,
    reconciler,
    start() {
      worker.start();
      reconciler.start({ immediately: config.sync.reconcileOnStart });
      startConnections(connections, availability, (connector) => {
        const started = startChangeStream(connector, sinkFor(connector), logger);
        if (started) streams.push(started);
      });
    },
    async stop() {
      await availability?.stop();
      for (const stop of await Promise.all(streams.splice(0))) await stop?.();
      await reconciler.stop();
      await worker.stop();
      for (const c of connectors) await c.close?.();
    },
  };
}
