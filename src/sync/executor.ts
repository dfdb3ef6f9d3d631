import { setTimeout as sleep } from 'node:timers/promises';
import type { JobOutcome, JobRunner, OutcomePolicy } from '../store/job-runner.ts';
import type { Job, RunnableJobQueue } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import { runToOutcome, type JobHandler } from './worker.ts';

/**
 * What runs the queue's jobs, whichever the store: the Worker pulling leased jobs (SQLite), or a RunnerExecutor that
 * graphile-worker pushes jobs to (PostgreSQL). The engine, the service and the tests see only this.
 */
export interface JobExecutor {
  /** Starts taking jobs (idempotent). */
  start(): void;
  /** Stops taking jobs and waits for the ones in flight. */
  stop(): Promise<void>;
  /** Resolves when nothing runs here and nothing is due: for tests, benchmarks and `cosell sync`. */
  drain(timeoutMs?: number): Promise<void>;
  /** Started and not stopped: taking jobs as they come. */
  readonly started: boolean;
  readonly inFlight: number;
}

export interface RunnerExecutorOptions {
  queue: RunnableJobQueue;
  handler: JobHandler;
  logger: Logger;
  concurrency: number;
  policy: OutcomePolicy;
  /** A postponement for a job that must not run now (its connection is unavailable); checked before it runs. */
  gate?: (job: Job) => Extract<JobOutcome, { kind: 'postpone' }> | null;
  onOutcome?: (outcome: 'done' | 'retry' | 'dead', job: Job, durationMs: number) => void;
}

const DRAIN_POLL_MS = 25;

/**
 * Runs a push queue's jobs: each one passes the availability gate, runs the sync, and its failure becomes an outcome
 * by the same decision as the Worker's (decideJobOutcome), which the queue applies (retry by our delay, postpone
 * without an attempt, dead letter).
 */
export class RunnerExecutor implements JobExecutor {
  private starting: Promise<JobRunner | undefined> | undefined;
  private runner: JobRunner | undefined;
  private failure: unknown;

  constructor(private readonly options: RunnerExecutorOptions) {}

  start(): void {
    if (this.starting) return;
    const { queue, logger, concurrency } = this.options;
    this.failure = undefined;
    this.starting = queue.run({ concurrency, logger, handle: (job) => this.handle(job) }).then(
      (runner) => (this.runner = runner),
      (error: unknown) => {
        // start() is synchronous for the engine; drain() reports this, and the log says it at once.
        this.failure = error;
        logger.error({ err: error }, 'the job runner did not start; jobs are not being run');
        return undefined;
      },
    );
  }

  async stop(): Promise<void> {
    const starting = this.starting;
    this.starting = undefined;
    const runner = await starting;
    try {
      await runner?.stop();
    } finally {
      if (this.runner === runner) this.runner = undefined;
    }
  }

  /**
   * Nothing in flight here and nothing due on the queue. A job locked by any runner counts as due (see the queue's
   * nextDueAt), so this also waits for a job another instance runs, and for the commit of a finished one.
   */
  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.starting;
    if (this.failure !== undefined) throw this.failure;
    for (;;) {
      if (this.inFlight === 0) {
        const due = await this.options.queue.nextDueAt();
        if (due === null || due > Date.now()) return;
      }
      if (Date.now() > deadline) throw new Error('worker did not drain in time');
      await sleep(DRAIN_POLL_MS);
    }
  }

  get started(): boolean {
    return this.starting !== undefined;
  }

  get inFlight(): number {
    return this.runner?.inFlight ?? 0;
  }

  private async handle(job: Job): Promise<JobOutcome> {
    const { gate, handler, policy, onOutcome } = this.options;
    const wait = gate?.(job);
    if (wait) return wait;
    const started = Date.now();
    // The queue logs the outcome when it applies it (see PostgresJobQueue.run).
    const outcome = await runToOutcome(job, handler, policy);
    if (outcome.kind !== 'postpone') onOutcome?.(outcome.kind, job, Date.now() - started);
    return outcome;
  }
}
