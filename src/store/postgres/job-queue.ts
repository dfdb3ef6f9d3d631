import { EventEmitter } from 'node:events';
import { Logger as GraphileLogger, run, type JobHelpers, type Task, type WorkerEvents } from 'graphile-worker';
import type pg from 'pg';
import type { JobOutcome, JobRunner, JobRunnerOptions } from '../job-runner.ts';
import type { Job, JobRequest, RunnableJobQueue } from '../types.ts';
import type { Logger } from '../../util/logger.ts';
import { insertDeadLetter, resolveDeadLettersForPair } from './dead-letters.ts';
import { addPairJob, enqueuePairJobs, lockPairKey, pairJobKey, pendingPairJob } from './job-enqueue.ts';
import { jobFromPayload, pairJobPayloadSchema, SYNC_PAIR_TASK, type PairJobPayload } from './job-payload.ts';
import { RunnerLiveness } from './job-liveness.ts';
import { inTransaction } from './pool.ts';
import { RunsCompletedByCommit } from './job-completion.ts';

export interface PostgresJobRunnerOptions extends JobRunnerOptions {
  /**
   * How long a runner may go without a heartbeat before the others unlock its jobs (it crashed or lost the database).
   * Longer than any pause of a live process (GC, a blocked event loop), or a pair could run twice at once. Default 30 s.
   */
  crashUnlockAfterMs?: number;
  /** graphile-worker's poll, the fallback to its LISTEN/NOTIFY wake-up (and how soon unlocked jobs are seen). */
  pollIntervalMs?: number;
}

/**
 * The job queue on graphile-worker. Jobs are pushed to a runner (`run`) instead of claimed and leased, so the pull
 * methods of the SQLite queue (claim, complete, retry, postpone, deadLetter) have no counterpart here: their effects
 * are the outcomes a runner's handler returns (see JobOutcome).
 */
export class PostgresJobQueue implements RunnableJobQueue {
  readonly kind = 'runner' as const;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly completedRuns = new RunsCompletedByCommit(),
  ) {}

  /** In its own transaction; the watermark commits with the jobs, so a resume point never runs ahead of its work. */
  async enqueue(requests: readonly JobRequest[], watermark?: { source: string; value: string }): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await enqueuePairJobs(client, requests);
      if (watermark) {
        await client.query(
          `INSERT INTO watermarks (source, value, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
          [watermark.source, watermark.value, new Date().toISOString()],
        );
      }
    });
    if (requests.length > 0) this.notify();
  }

  /**
   * Pairs with work queued or running, like the SQLite queue's row count (one per pair). A job replaced while it ran
   * keeps running with attempts = max_attempts (graphile-worker's add_jobs); a job that exhausted its attempts is not
   * work any more.
   */
  async depth(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(DISTINCT queue_name) AS n FROM graphile_worker.jobs
        WHERE task_identifier = $1 AND (locked_at IS NOT NULL OR attempts < max_attempts)`,
      [SYNC_PAIR_TASK],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Epoch ms of the earliest job waiting to run, or null. A job locked by a runner (on any instance) counts as due now:
   * it is work not finished, and a drain must not end between graphile-worker fetching a job and its handler starting,
   * nor before the run's completion is committed.
   */
  async nextDueAt(): Promise<number | null> {
    const { rows } = await this.pool.query<{ t: string | null }>(
      `SELECT (extract(epoch FROM min(CASE WHEN locked_at IS NULL THEN run_at ELSE now() END)) * 1000)::bigint AS t
         FROM graphile_worker.jobs
        WHERE task_identifier = $1 AND (locked_at IS NOT NULL OR attempts < max_attempts)`,
      [SYNC_PAIR_TASK],
    );
    const t = rows[0]?.t;
    return t === null || t === undefined ? null : Number(t);
  }

  /**
   * Enqueues made through this object. Runners do not need it (graphile-worker wakes them by LISTEN/NOTIFY, across
   * instances); it is for local observers such as tests and the console.
   */
  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) queueMicrotask(listener);
  }

  /** Starts running `sync-pair` jobs (graphile-worker's schema must be installed: see migrations.ts). */
  async run(options: PostgresJobRunnerOptions): Promise<JobRunner> {
    const { pool } = this;
    const logger = options.logger;
    // graphile-worker holds one client for LISTEN and borrows others to fetch and complete jobs; each outcome takes one
    // more, and the handler's own store work shares the pool. Too small a pool stalls jobs rather than failing them.
    const max = pool.options.max ?? 10;
    if (max < options.concurrency + 3) {
      logger.warn({ poolMax: max, concurrency: options.concurrency }, 'the PostgreSQL pool is small for this job concurrency (want at least concurrency + 3)');
    }
    const liveness = new RunnerLiveness(pool, { staleAfterMs: options.crashUnlockAfterMs ?? 30_000, logger });
    let inFlight = 0;

    const task: Task = async (raw, helpers) => {
      const parsed = pairJobPayloadSchema.safeParse(raw);
      // Not ours to interpret (another version's payload): fail it as graphile-worker fails jobs, visibly in its table.
      if (!parsed.success) throw new Error(`unreadable sync-pair payload: ${parsed.error.message}`);
      const job: Job = { ...jobFromPayload(pairJobKey(parsed.data), parsed.data), runnerJobId: helpers.job.id };
      // In flight until its outcome is applied, so a caller waiting for zero sees the outcome's writes.
      inFlight++;
      try {
        let outcome: JobOutcome;
        try {
          outcome = await options.handle(job);
        } catch (error) {
          // An unexpected throw (expected failures come back as outcomes) is graphile-worker's normal failure: it counts
          // its own attempt and retries with its exponential backoff, up to UNEXPECTED_FAILURE_ATTEMPTS. Only the last
          // one is turned into our dead letter, so a pair that keeps throwing shows up where operators look.
          if (!isLastGraphileAttempt(helpers)) throw error;
          outcome = { kind: 'dead', error: error instanceof Error ? error.message : String(error) };
        }
        // A run its sync's commit completed (SyncCommit.completes) has nothing left to apply when it is done; a failure
        // after that commit is still retried (the reschedule adds the pair's job again).
        const completedByCommit = this.completedRuns.take(job.runnerJobId);
        if (!(outcome.kind === 'done' && completedByCommit)) await applyOutcome(pool, job, parsed.data, outcome);
        logOutcome(logger, job, outcome);
      } finally {
        inFlight--;
      }
    };

    const events = new EventEmitter() as WorkerEvents;
    events.on('pool:create', ({ workerPool }) => liveness.track(workerPool.id));
    const runner = await run({
      pgPool: pool,
      concurrency: options.concurrency,
      noHandleSignals: true,
      pollInterval: options.pollIntervalMs ?? 1_000,
      logger: graphileLogger(logger),
      taskList: { [SYNC_PAIR_TASK]: task },
      events,
    });
    liveness.start();
    runner.promise.catch((error: unknown) => logger.error({ err: error }, 'job runner stopped with an error'));
    return {
      async stop() {
        try {
          await runner.stop();
        } finally {
          await liveness.stop();
        }
      },
      get inFlight() {
        return inFlight;
      },
    };
  }
}

/**
 * Applies what became of a run. Each outcome's own writes commit in one transaction; the graphile-worker job then
 * completes when the task returns (its completion also releases the pair's queue, which only graphile-worker does). A
 * crash in between leaves the job locked until a live runner unlocks it (RunnerLiveness) and it runs once more: a
 * sync is idempotent, and for retry/postpone the job no longer holds its key, so the rescheduled one wins.
 */
async function applyOutcome(pool: pg.Pool, job: Job, payload: PairJobPayload, outcome: JobOutcome): Promise<void> {
  switch (outcome.kind) {
    case 'done':
      await inTransaction(pool, (client) => resolveDeadLettersForPair(client, job));
      return;
    case 'dead':
      await inTransaction(pool, (client) => insertDeadLetter(client, job, outcome.error));
      return;
    case 'retry':
      await reschedule(pool, job, payload, { attempts: job.attempts + 1, lastError: outcome.error, delayMs: outcome.delayMs });
      return;
    case 'postpone':
      await reschedule(pool, job, payload, { attempts: job.attempts, lastError: outcome.reason, delayMs: outcome.delayMs });
      return;
  }
}

/**
 * Runs the pair again later, by our delay (Retry-After, backoff, an unavailable connection), not graphile-worker's
 * backoff. When new work for the pair was queued while this run went on, that job stands: it keeps its run_at (it has
 * news, it should run soon), takes the Microsoft side if this one needed it, and the higher attempt count.
 */
async function reschedule(
  pool: pg.Pool,
  job: Job,
  payload: PairJobPayload,
  next: { attempts: number; lastError: string; delayMs: number },
): Promise<void> {
  await inTransaction(pool, async (client) => {
    await lockPairKey(client, job.key);
    const pending = await pendingPairJob(client, job.key);
    if (pending) {
      const merged: PairJobPayload = {
        ...pending.payload,
        microsoftSide: pending.payload.microsoftSide || payload.microsoftSide,
        attempts: Math.max(pending.payload.attempts, next.attempts),
        lastError: next.lastError,
      };
      await addPairJob(client, job.key, merged, pending.runAt);
      return;
    }
    const now = Date.now();
    // The running job still holds the key: add_job clears it there (that job is then deleted by its completion).
    await addPairJob(client, job.key, { ...payload, attempts: next.attempts, lastError: next.lastError, enqueuedAt: now }, now + next.delayMs);
  });
}

function isLastGraphileAttempt(helpers: JobHelpers): boolean {
  // `attempts` was counted when the job was fetched, so it includes this run.
  return helpers.job.attempts >= helpers.job.max_attempts;
}

function logOutcome(logger: Logger, job: Job, outcome: JobOutcome): void {
  switch (outcome.kind) {
    case 'done':
      return;
    case 'retry':
      logger.warn({ job: job.key, attempt: job.attempts + 1, delayMs: Math.round(outcome.delayMs), error: outcome.error }, 'sync failed; will retry');
      return;
    case 'postpone':
      logger.info({ job: job.key, delayMs: Math.round(outcome.delayMs), reason: outcome.reason }, 'sync postponed');
      return;
    case 'dead':
      logger.error({ job: job.key, attempt: job.attempts + 1, error: outcome.error }, 'sync failed permanently; moved to dead letters');
  }
}

/** graphile-worker's log lines through our pino logger; its info lines (connected, looking for jobs) are debug for us. */
function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    // pino serialises errors under `err` only.
    const { error, ...rest } = meta ?? {};
    const fields = { worker: scope, ...rest, ...(error === undefined ? {} : { err: error }) };
    switch (level) {
      case 'error':
        logger.error(fields, message);
        return;
      case 'warning':
        logger.warn(fields, message);
        return;
      default:
        logger.debug(fields, message);
    }
  });
}
