import type pg from 'pg';
import type { Store } from '../types.ts';
import { PostgresConsoleReads } from './console-reads.ts';
import { PostgresCredentials } from './credentials.ts';
import { PostgresInbox } from './inbox.ts';
import { PostgresAdvisoryLocks } from './advisory-locks.ts';
import { RunsCompletedByCommit } from './job-completion.ts';
import { PostgresJobQueue } from './job-queue.ts';
import { migrate } from './migrations.ts';
import type { PostgresStoreConfig } from '../../config/schema.ts';
import { postgresPoolOptions } from './from-config.ts';
import { createPool, redactUrl, type PostgresPoolOptions } from './pool.ts';
import { PostgresCompactor } from './retention.ts';
import { PostgresSyncState } from './sync-state.ts';

export interface PostgresStoreOptions extends PostgresPoolOptions {
  /** Warnings and errors of the pool (an idle client lost) and of graphile-worker's migrations; never carries the URL's password. */
  log?: (level: string, message: string) => void;
}

/** The store in PostgreSQL: several service instances can share it (see PG-CONTRACT, issue 15). */
export class PostgresStore implements Store {
  readonly inbox: PostgresInbox;
  /** graphile-worker: jobs are pushed to a runner (`jobs.run`), one pair at a time across every instance. */
  readonly jobs: PostgresJobQueue;
  /** Advisory locks, on connections of their own (`lockPool`, see advisory-locks.ts). */
  readonly locks: PostgresAdvisoryLocks;
  readonly sync: PostgresSyncState;
  readonly console: PostgresConsoleReads;
  readonly credentials: PostgresCredentials;
  /** Deletes what `store.retention` no longer keeps. */
  readonly compactor: PostgresCompactor;

  /**
   * Pools: `pool` serves queries and the job runner (graphile-worker wants concurrency + 3 of it: see job-queue.ts);
   * `lockPool` holds advisory-lock sessions, one per task holding keys (a job holds its pair's for its whole sync). Kept
   * apart so sessions waiting for another instance's key can never take every connection of the pool their holders
   * need for their own queries (a deadlock). Each opens connections only as they are used, up to `pool.max`.
   */
  private constructor(
    readonly pool: pg.Pool,
    private readonly lockPool: pg.Pool,
  ) {
    this.inbox = new PostgresInbox(pool);
    const completedRuns = new RunsCompletedByCommit();
    this.jobs = new PostgresJobQueue(pool, completedRuns);
    this.locks = new PostgresAdvisoryLocks(lockPool);
    this.sync = new PostgresSyncState(pool, completedRuns);
    this.console = new PostgresConsoleReads(pool);
    this.credentials = new PostgresCredentials(pool);
    this.compactor = new PostgresCompactor(pool);
  }

  /** Connects and migrates (graphile-worker's schema, then ours) before anything reads or writes. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const onLost = (message: string): void => options.log?.('warning', `PostgreSQL: connection lost: ${message}`);
    const pool = createPool(options, onLost);
    try {
      await migrate(pool, (level, message) => options.log?.(level, redactUrl(message, options.url)));
    } catch (error) {
      await pool.end().catch(() => undefined);
      // A driver error may quote the connection string; never let the password out with it.
      if (error instanceof Error) error.message = redactUrl(error.message, options.url);
      throw error;
    }
    return new PostgresStore(pool, createPool({ ...options, applicationName: `${options.applicationName} (locks)` }, onLost));
  }

  /** `store` (driver postgres) as configured: its URL resolved, TLS as set or by host (see from-config.ts). */
  static async fromConfig(store: PostgresStoreConfig, options: { env?: NodeJS.ProcessEnv; applicationName?: string; log?: PostgresStoreOptions['log'] } = {}): Promise<PostgresStore> {
    const poolOptions = await postgresPoolOptions(store, options.env, options.applicationName);
    return PostgresStore.open({ ...poolOptions, ...(options.log ? { log: options.log } : {}) });
  }

  private closing: Promise<void> | undefined;

  /** Waits for the queries under way; a second call waits for the first one's end. */
  close(): Promise<void> {
    this.closing ??= Promise.all([this.pool.end(), this.lockPool.end()]).then(() => undefined);
    return this.closing;
  }
}
