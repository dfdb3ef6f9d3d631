import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConnectionCounts } from '../store/types.ts';
import type { ConnectionHealth } from './readiness.ts';

export interface HealthSource {
  counts(): Promise<Record<string, ConnectionCounts>>;
  connections(): Record<string, ConnectionHealth>;
}

/** One registry per service instance: tests run several instances in one process without clashing. */
export class Metrics {
  readonly registry = new Registry();

  readonly webhookRequests = new Counter({
    name: 'cosell_webhook_requests_total',
    help: 'Webhook requests by source and outcome (accepted, duplicate, rejected).',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookRejections = new Counter({
    name: 'cosell_webhook_rejections_total',
    help: 'Rejected webhook requests by source and reason.',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });

  readonly webhookDuration = new Histogram({
    name: 'cosell_webhook_duration_seconds',
    help: 'Time from request to response on webhook routes, including the durable inbox commit.',
    labelNames: ['source'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly apiCalls = new Counter({
    name: 'cosell_api_calls_total',
    help: 'Outgoing API calls by api, method, templated route and status.',
    labelNames: ['api', 'method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly apiCallDuration = new Histogram({
    name: 'cosell_api_call_duration_seconds',
    help: 'Outgoing API call latency.',
    labelNames: ['api'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly syncJobs = new Counter({
    name: 'cosell_sync_jobs_total',
    help: 'Pair syncs by outcome: done, retry (transient failure, backed off) or dead (moved to dead letters).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly syncDuration = new Histogram({
    name: 'cosell_sync_duration_seconds',
    help: 'Time one pair sync takes: reads of both sides, merge, writes and the commit.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private queueDepthSource: (() => Promise<number>) | undefined;

  /** Read at scrape time from the store, so it is never stale. */
  readonly queueDepth = new Gauge({
    name: 'cosell_sync_queue_depth',
    help: 'Pending pair syncs (coalesced per pair).',
    registers: [this.registry],
    // prom-client awaits an asynchronous collect before it renders the scrape.
    collect: async () => {
      if (this.queueDepthSource) this.queueDepth.set(await this.queueDepthSource());
    },
  });

  watchQueueDepth(source: () => Promise<number>): void {
    this.queueDepthSource = source;
  }

  private healthSource: HealthSource | undefined;

  readonly openDeadLetters = this.healthGauge('cosell_dead_letters_open', 'Open dead letters per CRM connection.', async (s) =>
    Object.entries(await s.counts()).map(([connection, c]) => [connection, c.deadLettered]),
  );
  readonly heldConflicts = this.healthGauge('cosell_conflicts_held_pairs', 'Pairs with a held conflict, per CRM connection.', async (s) =>
    Object.entries(await s.counts()).map(([connection, c]) => [connection, c.inConflict]),
  );
  readonly retryingJobs = this.healthGauge('cosell_jobs_retrying', 'Jobs waiting for another attempt after a failure, per CRM connection.', async (s) =>
    Object.entries(await s.counts()).map(([connection, c]) => [connection, c.retrying]),
  );
  readonly pausedPairs = this.healthGauge('cosell_pairs_paused', "Pairs paused by an operator or by the seller's Sync with Partner Center = No (not synced either way), per CRM connection.", async (s) =>
    Object.entries(await s.counts()).map(([connection, c]) => [connection, c.paused]),
  );
  readonly lastSuccess = this.healthGauge(
    'cosell_connection_last_success_timestamp_seconds',
    'When a call to the connection (or Partner Center) last succeeded, Unix seconds; absent before the first one.',
    async (s) => Object.entries(s.connections()).flatMap(([connection, c]) => (c.lastSuccessAt ? [[connection, Date.parse(c.lastSuccessAt) / 1000] as const] : [])),
  );
  readonly failing = this.healthGauge('cosell_connection_failing', '1 while the connection\'s last calls all failed (see /readyz), else 0.', async (s) =>
    Object.entries(s.connections()).map(([connection, c]) => [connection, c.state === 'failing' ? 1 : 0]),
  );

  /** Read at scrape time from the store and the per-call records, like the queue depth. */
  watchHealth(source: HealthSource): void {
    this.healthSource = source;
  }

  private healthGauge(name: string, help: string, values: (source: HealthSource) => Promise<ReadonlyArray<readonly [string, number]>>): Gauge<'connection'> {
    const gauge: Gauge<'connection'> = new Gauge({
      name,
      help,
      labelNames: ['connection'] as const,
      registers: [this.registry],
      collect: async () => {
        if (!this.healthSource) return;
        // Read before the reset: the gauge is never left empty while the store answers.
        const current = await values(this.healthSource);
        gauge.reset();
        for (const [connection, value] of current) gauge.set({ connection }, value);
      },
    });
    return gauge;
  }

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'cosell_' });
  }

  readonly recordJob = (outcome: 'done' | 'retry' | 'dead', durationMs: number): void => {
    this.syncJobs.inc({ outcome });
    this.syncDuration.observe(durationMs / 1000);
  };

  /** The recorder the Partner Center clients call once per HTTP attempt. */
  readonly recordApiCall = (call: {
    api: string;
    method: string;
    route: string;
    status: number | string;
    durationMs: number;
  }): void => {
    this.apiCalls.inc({ api: call.api, method: call.method, route: call.route, status: String(call.status) });
    this.apiCallDuration.observe({ api: call.api }, call.durationMs / 1000);
  };
}
