import type { Job, JobOutcome } from './types.ts';

// The runner's shapes live with the other store interfaces (types.ts), which name them; re-exported for callers here.
export type { JobOutcome, JobRunner, JobRunnerOptions } from './types.ts';

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
