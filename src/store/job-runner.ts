import type { Logger } from '../util/logger.ts';
import type { Job } from './types.ts';

/**
 * What became of one run of a pair's job, decided by the sync side and applied by the queue:
 * - done: the job completes; the pair's open dead letters resolve (it synced).
 * - retry: it failed and runs again after `delayMs` (ours: Retry-After or our backoff), one more attempt counted.
 * - postpone: its connection is unavailable; it runs after `delayMs` without counting an attempt.
 * - dead: it failed for good; a dead letter is filed and the job completes.
 */
export type JobOutcome =
  | { kind: 'done' }
  | { kind: 'retry'; error: string; delayMs: number }
  | { kind: 'postpone'; reason: string; delayMs: number }
  | { kind: 'dead'; error: string };

export interface JobRunnerOptions {
  /** Jobs run at once by this runner (one pair never runs twice at once, whatever this is). */
  concurrency: number;
  /**
   * Runs one job and says what became of it. Expected failures are outcomes, not throws: a throw is a bug or an outage
   * below the sync's error handling, and the queue treats it as its own failure (see the driver's runner).
   */
  handle(job: Job): Promise<JobOutcome>;
  logger: Logger;
}

/** A queue that pushes due jobs to `handle` (PostgreSQL: graphile-worker), as opposed to a worker pulling leased ones. */
export interface JobRunner {
  /** Stops taking jobs and waits for the ones in flight. */
  stop(): Promise<void>;
  readonly inFlight: number;
}

/** How the outcome of a failure is chosen; the SQLite worker's defaults (src/sync/worker.ts). */
export interface OutcomePolicy {
  /** Attempts before a retryable failure goes to dead letters. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** [0, 1); injectable for tests. */
  random?: () => number;
}

/** A failure as src/sync/errors.ts classifies it (structurally the same, so this module imports nothing from sync). */
export interface ClassifiedFailure {
  retryable: boolean;
  retryAfterMs?: number | undefined;
  message: string;
}

/**
 * Pull vs push, one decision. The SQLite worker (src/sync/worker.ts) PULLS: it claims leased jobs and, after running
 * one, calls complete / retry / deadLetter on the queue itself. The PostgreSQL runner is PUSHED jobs by graphile-worker
 * and applies a returned JobOutcome. Both can share this function: the pull worker's `run` becomes
 * `outcome = failed ? decideJobOutcome(job, classifyFailure(error), policy) : {kind: 'done'}` followed by a small
 * `applyOutcome(queue, job, outcome)` (done → complete, retry → retry, postpone → postpone, dead → deadLetter), and
 * the push handler returns the same outcome to the runner. The connection gate's postponement (connection-availability.ts)
 * becomes a `postpone` outcome decided before the sync runs, in both cases.
 *
 * The rule is the SQLite worker's: a non-retryable failure, or the last allowed attempt, is dead; otherwise retry after
 * the larger of the server's Retry-After and an exponential backoff with jitter (half fixed, half random).
 */
export function decideJobOutcome(job: Pick<Job, 'attempts'>, failure: ClassifiedFailure, policy: OutcomePolicy): JobOutcome {
  const attempt = job.attempts + 1;
  if (!failure.retryable || attempt >= policy.maxAttempts) return { kind: 'dead', error: failure.message };
  const random = policy.random ?? Math.random;
  const backoff = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** job.attempts);
  const delayMs = Math.max(failure.retryAfterMs ?? 0, backoff / 2 + random() * (backoff / 2));
  return { kind: 'retry', error: failure.message, delayMs };
}
