import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { timeoutRetriesAllowed } from './outbound.ts';

/*
 * The one retry policy of the vendor clients (Partner Center, Dataverse, Salesforce). Which failures are retryable is
 * each vendor's business (its error shapes, which writes are idempotent); how many attempts, how long to wait, and
 * when to hand a long Retry-After to the job queue instead are the same everywhere, and p-retry runs the loop.
 */

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff; doubles per retry, then jittered to 50–100 %. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited out in-process: the error goes to the caller with `retryAfterMs`. */
  maxRetryAfterMs: number;
  /**
   * Retries after an attempt that timed out (no connection, no response headers, a stalled body). A host that stays
   * silent is most likely down, and every further attempt costs a whole timeout: a call gives up after this many.
   */
  timeoutRetries: number;
}

/** Exponential backoff with jitter (50–100 % of the step) so that many clients do not retry in lock-step. */
export function backoffDelay(retriesConsumed: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retriesConsumed);
  return Math.round(step * (0.5 + 0.5 * random()));
}

/**
 * The wait before retrying a failure the vendor client judged retryable: the server's Retry-After when it sent one,
 * else backoff. `undefined` (give up) when the Retry-After is longer than the policy waits in-process.
 */
export function retryDelay(policy: RetryPolicy, retriesConsumed: number, retryAfterMs: number | undefined): number | undefined {
  const delayMs = retryAfterMs ?? backoffDelay(retriesConsumed, policy);
  return delayMs > policy.maxRetryAfterMs ? undefined : delayMs;
}

/** `Retry-After` as delta-seconds or an HTTP date, in milliseconds from now; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface RetryingOptions {
  policy: RetryPolicy;
  /**
   * The wait before the next attempt after this failure, or `undefined` to give up and throw it. Asked only while
   * retries remain. `retriesConsumed` is 0 after the first attempt.
   */
  delayAfter(error: unknown, retriesConsumed: number): number | undefined;
  /** Whether the failure was a timeout; those are bounded by `policy.timeoutRetries` as well. */
  timedOut(error: unknown): boolean;
  /** The caller's cancellation: stops waiting and retrying, rejecting with the signal's own reason. */
  signal?: AbortSignal | undefined;
  onRetry?(retry: { error: unknown; attempt: number; delayMs: number }): void;
}

/** Runs `attempt` (1, 2, …) until it succeeds or the policy gives up; the last failure is thrown as it was. */
export function withRetries<T>(attempt: (attemptNumber: number) => Promise<T>, options: RetryingOptions): Promise<T> {
  let timeouts = 0;
  return pRetry(attempt, {
    retries: options.policy.retries,
    // The wait happens in shouldRetry, where the failure (and its Retry-After) is known; p-retry's own delay would add to it.
    minTimeout: 0,
    ...(options.signal ? { signal: options.signal } : {}),
    shouldRetry: async ({ error, attemptNumber, retriesConsumed }) => {
      if (options.timedOut(error)) {
        timeouts += 1;
        if (timeouts > timeoutRetriesAllowed(options.policy.timeoutRetries)) return false;
      }
      const delayMs = options.delayAfter(error, retriesConsumed);
      if (delayMs === undefined) return false;
      options.onRetry?.({ error, attempt: attemptNumber, delayMs });
      await pause(delayMs, options.signal);
      return true;
    },
  });
}

/** Like timers/promises' setTimeout, but a cancelled wait rejects with the caller's own abort reason. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return;
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  }
}
