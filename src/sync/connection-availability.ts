import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { ConfigError } from '../config/errors.ts';
import type { Config } from '../config/schema.ts';
import type { CrmConnector, CrmKind } from '../crm/connector.ts';
import { backoffDelay } from '../http/retry.ts';
import type { JobOutcome } from '../store/job-runner.ts';
import type { Job, LeasedJobQueue } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import { assertValidMapping, MappingError, mappedEntities, type MappingSpec } from './mapping/index.ts';

/*
 * A CRM that does not answer at start-up must not stop the service: Partner Center's webhooks still have to be taken
 * in and stored, and the other connections still sync. Such a connection starts unavailable, its jobs wait (postponed
 * without counting an attempt, so the outage never dead-letters them), and its start-up check is retried in the
 * background with backoff until the CRM answers.
 */

/** Where the connection's CRM lives, for log lines that tell an operator which host is down. */
export function crmHost(config: Config, kind: CrmKind): string {
  const url = kind === 'dynamics' ? config.dynamics?.orgUrl : config.salesforce?.instanceUrl;
  return url && URL.canParse(url) ? new URL(url).host : kind;
}

/** The start-up check of a connection: its mapping against the CRM's live metadata. */
export async function checkMappingAgainstCrm(connector: CrmConnector, spec: MappingSpec): Promise<void> {
  assertValidMapping(spec, await connector.describe(mappedEntities(spec)));
}

/**
 * An outage that waiting fixes: no answer (connection refused, reset, timed out) or a 5xx / 408 / 429 answer. A
 * mapping that does not match and a configuration or credential problem (401 / 403, `invalid_client`) are not: those
 * need the operator, and still stop start-up (exit code 2).
 */
export function isTransientStartupFailure(error: unknown): boolean {
  if (error instanceof MappingError || error instanceof ConfigError) return false;
  if (typeof error !== 'object' || error === null) return false;
  const { status, retryable } = error as { status?: unknown; retryable?: unknown };
  if (typeof status === 'number') return status >= 500 || status === 408 || status === 429;
  return retryable !== false;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Where an unavailable connection is shown: the readiness report (/readyz, the console's health card, alerts). */
export interface AvailabilityReporter {
  setUnavailable(name: string, reason: string | undefined): void;
}

export interface RecoveryPolicy {
  /** First wait before retrying the check; doubles per retry, jittered (the vendor clients' backoff). */
  baseDelayMs: number;
  maxDelayMs: number;
}

const DEFAULT_RECOVERY: RecoveryPolicy = { baseDelayMs: 2_000, maxDelayMs: 60_000 };
/** A waiting job is looked at again this soon at the latest, so the work resumes shortly after the CRM is back. */
const MAX_POSTPONE_MS = 5_000;

interface Outage {
  reason: string;
  host: string;
  /** Epoch ms of the next check (Infinity: none, the operator must act). */
  retryAt: number;
}

export class ConnectionAvailability {
  private readonly down = new Map<string, Outage>();
  private readonly abort = new AbortController();
  private readonly recoveries: Array<Promise<void>> = [];
  private readonly policy: RecoveryPolicy;

  constructor(private readonly options: { logger: Logger; reporter?: AvailabilityReporter; policy?: RecoveryPolicy }) {
    this.policy = options.policy ?? DEFAULT_RECOVERY;
  }

  isAvailable(name: string): boolean {
    return !this.down.has(name);
  }

  /** Runs the start-up check; a transient failure marks the connection unavailable instead of throwing. */
  async checkAtStart(name: string, host: string, check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      if (!isTransientStartupFailure(error)) throw error;
      this.markDown(name, { reason: messageOf(error), host, retryAt: Date.now() + this.policy.baseDelayMs });
      this.options.logger.error(
        { connection: name, host, error: messageOf(error) },
        'CRM unavailable at start-up; starting without it: its work waits and is retried when it answers',
      );
    }
  }

  /**
   * Retries `check` in the background with backoff until it passes, then calls `onUp`. A failure that waiting does
   * not fix (the CRM answers, but the mapping no longer matches its metadata, or the credentials are refused) ends the
   * retries: logged as an error, and the connection stays unavailable, which /readyz, the health card and the
   * connection-failing alert report. It does not exit as at start-up: by now the service is taking in Partner
   * Center's webhooks and syncing the other connections, and stopping them would lose more than it protects.
   */
  recover(name: string, check: () => Promise<void>, onUp: () => void): void {
    const outage = this.down.get(name);
    if (!outage) return;
    const { signal } = this.abort;
    const { logger } = this.options;
    const attempt = async (attemptNumber: number): Promise<void> => {
      if (attemptNumber === 1) await sleep(Math.max(0, outage.retryAt - Date.now()), undefined, { signal });
      await check();
    };
    const run = pRetry(attempt, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 0,
      signal,
      shouldRetry: async ({ error, retriesConsumed }) => {
        if (!isTransientStartupFailure(error)) return false;
        const delayMs = backoffDelay(retriesConsumed + 1, this.policy);
        this.markDown(name, { reason: messageOf(error), host: outage.host, retryAt: Date.now() + delayMs });
        logger.warn({ connection: name, host: outage.host, error: messageOf(error), retryInMs: delayMs }, 'CRM still unavailable');
        await sleep(delayMs, undefined, { signal });
        return true;
      },
    }).then(
      () => {
        this.down.delete(name);
        this.options.reporter?.setUnavailable(name, undefined);
        logger.info({ connection: name, host: outage.host }, 'CRM available; mapping checked, syncing the work that waited');
        onUp();
      },
      (error: unknown) => {
        if (signal.aborted) return;
        this.markDown(name, { reason: messageOf(error), host: outage.host, retryAt: Number.POSITIVE_INFINITY });
        logger.error(
          { connection: name, host: outage.host, error: messageOf(error) },
          'CRM answered, but the connection cannot sync (mapping or credentials); it stays unavailable until fixed and restarted',
        );
      },
    );
    this.recoveries.push(run);
  }

  /**
   * A job of an unavailable connection is postponed (without counting an attempt), so it neither runs against a CRM
   * that is down nor drifts towards dead letters; null when its connection is available. Both executors ask this
   * before running a job: the leased worker through `gate`, the PostgreSQL runner in its handler.
   */
  postponement(job: Pick<Job, 'connection'>): Extract<JobOutcome, { kind: 'postpone' }> | null {
    const outage = this.down.get(job.connection);
    if (!outage) return null;
    const waitMs = Math.min(MAX_POSTPONE_MS, Math.max(0, outage.retryAt - Date.now()));
    return { kind: 'postpone', reason: `waiting for ${job.connection} (${outage.host}): ${outage.reason}`, delayMs: Math.max(waitMs, 1_000) };
  }

  /** The leased queue as the worker sees it: a claimed job of an unavailable connection is postponed at once. */
  gate(queue: LeasedJobQueue): LeasedJobQueue {
    const claim = async (limit: number, leaseMs: number, now?: number): Promise<Job[]> => {
      const claimed = await queue.claim(limit, leaseMs, now);
      const runnable: Job[] = [];
      const postponed: Array<Promise<void>> = [];
      // Availability as of the claim's return: an outage that began while it ran applies to what it leased.
      for (const job of claimed) {
        const wait = this.postponement(job);
        if (wait) postponed.push(queue.postpone(job, wait.reason, wait.delayMs));
        else runnable.push(job);
      }
      for (const result of await Promise.allSettled(postponed)) {
        // The job stays leased: it comes back when the lease expires, without an attempt counted.
        if (result.status === 'rejected') this.options.logger.warn({ error: messageOf(result.reason) }, 'could not postpone a job of an unavailable connection');
      }
      return runnable;
    };
    return {
      kind: 'leased',
      enqueue: (requests, watermark) => queue.enqueue(requests, watermark),
      claim,
      complete: (job) => queue.complete(job),
      retry: (job, error, delayMs, now) => queue.retry(job, error, delayMs, now),
      postpone: (job, reason, delayMs, now) => queue.postpone(job, reason, delayMs, now),
      deadLetter: (job, error) => queue.deadLetter(job, error),
      depth: () => queue.depth(),
      nextDueAt: () => queue.nextDueAt(),
      onEnqueue: (listener) => queue.onEnqueue(listener),
    };
  }

  /** Ends the background checks (the service is stopping). */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.recoveries.splice(0));
  }

  private markDown(name: string, outage: Outage): void {
    this.down.set(name, outage);
    this.options.reporter?.setUnavailable(name, `unavailable (${outage.host}): ${outage.reason}`);
  }
}
