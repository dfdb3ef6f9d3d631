import { decideJobOutcome, type JobOutcome, type OutcomePolicy } from '../store/job-runner.ts';
import type { Job, LeasedJobQueue } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import { classifyFailure } from './errors.ts';

export type JobHandler = (job: Job) => Promise<void>;

export interface WorkerOptions {
  jobs: LeasedJobQueue;
  handler: JobHandler;
  logger: Logger;
  /** Pairs synced at once. Each pair is one job row, so one pair never runs twice concurrently. */
  concurrency?: number;
  /** Longer than any sync can take; a crashed worker's jobs come back after it. */
  leaseMs?: number;
  /** Attempts before a retryable failure goes to dead letters. */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Poll interval when idle; enqueues wake the worker at once. */
  idlePollMs?: number;
  onOutcome?: (outcome: 'done' | 'retry' | 'dead', job: Job, durationMs: number) => void;
  /** [0, 1) for the backoff's jitter; injectable for tests. */
  random?: () => number;
}

/** The outcome policy of these options, with the defaults both executors share (the runner's too: see executor.ts). */
export function outcomePolicy(options: Pick<WorkerOptions, 'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs' | 'random'>): OutcomePolicy {
  return {
    maxAttempts: options.maxAttempts ?? 10,
    backoffBaseMs: options.backoffBaseMs ?? 1_000,
    backoffMaxMs: options.backoffMaxMs ?? 5 * 60_000,
    ...(options.random ? { random: options.random } : {}),
  };
}

/** Runs the handler and decides what became of the job (never throws for a failure of the sync itself). */
export async function runToOutcome(job: Job, handler: JobHandler, policy: OutcomePolicy): Promise<JobOutcome> {
  try {
    await handler(job);
    return { kind: 'done' };
  } catch (error) {
    return decideJobOutcome(job, classifyFailure(error), policy);
  }
}

/** Logs a failed run the same way for both executors. */
export function logOutcome(logger: Logger, job: Job, outcome: JobOutcome): void {
  if (outcome.kind === 'retry') {
    logger.warn({ job: job.key, attempt: job.attempts + 1, delayMs: Math.round(outcome.delayMs), error: outcome.error }, 'sync failed; will retry');
  } else if (outcome.kind === 'dead') {
    logger.error({ job: job.key, attempt: job.attempts + 1, error: outcome.error }, 'sync failed permanently; moved to dead letters');
  }
}

/**
 * Pulls due jobs and runs them with bounded parallelism. Success completes the job (or reruns it when new events came
 * in meanwhile), transient failures back off exponentially with jitter, permanent ones go to dead letters.
 */
export class Worker {
  private running = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  /** The pump loop running now, if any (see pump). */
  private pumping: Promise<void> | undefined;
  private repump = false;
  private unsubscribe: (() => void) | undefined;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly policy: OutcomePolicy;
  private readonly idlePollMs: number;

  constructor(private readonly options: WorkerOptions) {
    this.concurrency = options.concurrency ?? 8;
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
    this.policy = outcomePolicy(options);
    this.idlePollMs = options.idlePollMs ?? 1_000;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.options.jobs.onEnqueue(() => void this.pump());
    void this.pump();
  }

  /** Stops claiming and waits for the jobs in flight; their leases are released by completion or retry. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    // A claim in flight still starts the jobs it leased; they are waited for below like the others.
    await this.pumping;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.running.values()]);
  }

  /** Resolves when nothing is running and nothing is due: for tests, benchmarks and `cosell sync`. */
  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.pump();
      await Promise.allSettled([...this.running.values()]);
      const due = await this.options.jobs.nextDueAt();
      if (this.running.size === 0 && (due === null || due > Date.now())) return;
      if (Date.now() > deadline) throw new Error('worker did not drain in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Started and not stopped: claiming jobs as they come. */
  get started(): boolean {
    return !this.stopped;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Claims what fits and starts it. Claims are serialised: a claim is asynchronous, and two overlapping ones would both
   * count the same free slots (more than `concurrency` jobs at once). A pump requested while one runs is not lost: the
   * running one claims again when it ends. Resolves when no pump is running any more; never rejects.
   */
  private pump(): Promise<void> {
    if (this.stopped) return this.pumping ?? Promise.resolve();
    this.repump = true;
    this.pumping ??= this.pumpWhileRequested();
    return this.pumping;
  }

  private async pumpWhileRequested(): Promise<void> {
    try {
      do {
        this.repump = false;
        await this.claimAndStart();
      } while (this.repump && !this.stopped);
    } finally {
      // In the same turn as the loop's last check: a pump requested after it starts a new loop.
      this.pumping = undefined;
    }
  }

  private async claimAndStart(): Promise<void> {
    try {
      const free = this.concurrency - this.running.size;
      const jobs = free > 0 ? await this.options.jobs.claim(free, this.leaseMs) : [];
      for (const job of jobs) {
        const run: Promise<void> = this.run(job)
          .catch((error: unknown) => {
            this.options.logger.error({ job: job.key, error: classifyFailure(error).message }, 'could not record the outcome of a sync');
          })
          .finally(() => {
            // A rerun of the same key may have been claimed already (its lease was released by completion).
            if (this.running.get(job.key) === run) this.running.delete(job.key);
            void this.pump();
          });
        this.running.set(job.key, run);
      }
    } catch (error) {
      this.options.logger.error({ error: classifyFailure(error).message }, 'could not claim jobs; trying again at the next poll');
    }
    await this.schedule();
  }

  private async schedule(): Promise<void> {
    let due: number | null = null;
    try {
      due = await this.options.jobs.nextDueAt();
    } catch (error) {
      this.options.logger.error({ error: classifyFailure(error).message }, 'could not read when the next job is due; polling');
    }
    if (this.timer) clearTimeout(this.timer);
    if (this.stopped) return;
    const wait = due === null ? this.idlePollMs : Math.max(0, Math.min(this.idlePollMs, due - Date.now()));
    this.timer = setTimeout(() => void this.pump(), wait);
    this.timer.unref();
  }

  private async run(job: Job): Promise<void> {
    const started = Date.now();
    const { logger, jobs, handler, onOutcome } = this.options;
    const outcome = await runToOutcome(job, handler, this.policy);
    await applyOutcome(jobs, job, outcome);
    logOutcome(logger, job, outcome);
    if (outcome.kind !== 'postpone') onOutcome?.(outcome.kind, job, Date.now() - started);
  }
}

/** What the runner does for a returned outcome, done by hand on a leased queue. */
export async function applyOutcome(jobs: LeasedJobQueue, job: Job, outcome: JobOutcome): Promise<void> {
  switch (outcome.kind) {
    case 'done':
      return jobs.complete(job);
    case 'retry':
      return jobs.retry(job, outcome.error, outcome.delayMs);
    case 'postpone':
      return jobs.postpone(job, outcome.reason, outcome.delayMs);
    case 'dead':
      return jobs.deadLetter(job, outcome.error);
  }
}
