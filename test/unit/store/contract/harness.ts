import type { RetentionPolicy } from '../../../../src/config/retention.ts';
import type { CompactionReport } from '../../../../src/store/sqlite/retention.ts';
import type { CredentialRecord, Job, JobCause, JobRequest, Link, Store, SyncCommit } from '../../../../src/store/types.ts';

/** A sync job waiting in the store's queue, as the contract sees it (whatever the queue's own representation). */
export interface PendingJob {
  connection: string;
  referralId: string | null;
  crmEntity: string | null;
  crmId: string | null;
  cause: JobCause;
  microsoftSide: boolean;
  attempts: number;
}

/** A dead-letter row written directly (retention cases need old timestamps). */
export interface DeadLetterRow {
  jobKey: string;
  failedAt: string;
  replayedAt?: string | null;
  resolvedAt?: string | null;
  resolvedBy?: 'sync' | 'replay' | null;
}

/**
 * One store under test, with the few queue operations the contract needs that are not in `Store` (they are the job
 * runner's: SQLite's claim/retry/deadLetter/complete, graphile-worker's runner for PostgreSQL).
 */
export interface StoreUnderTest {
  readonly driver: 'sqlite' | 'postgres';
  readonly store: Store;
  readonly credentials: {
    get(name: string): Promise<CredentialRecord | undefined>;
    recordExchange(name: string, at: string, kept: { sealed: string; origin: string } | undefined): Promise<void>;
    recordFailure(name: string, at: string, message: string): Promise<void>;
    dropSealed(name: string): Promise<void>;
  };
  readonly compactor: { compact(policy: RetentionPolicy, now?: Date): Promise<CompactionReport> };
  /** Pending sync jobs, in no particular order. */
  pendingJobs(): Promise<PendingJob[]>;
  /** Enqueues `request` and fails its job once: it waits for a retry with `error` recorded. */
  failOnce(request: JobRequest, error: string): Promise<void>;
  /** Enqueues `request` and moves its job to dead letters with `error`. */
  deadLetter(request: JobRequest, error: string): Promise<void>;
  /** Enqueues `request` and completes its job as a successful sync of the pair (closing its dead letters). */
  completeSynced(request: JobRequest): Promise<void>;
  /**
   * Enqueues `request` and runs the queue as the store's executor does (SQLite: claim, run, complete; PostgreSQL:
   * graphile-worker's runner) until nothing is left, each run through `sync`, whose success is a `done` outcome.
   */
  runJobs(request: JobRequest, sync: (job: Job) => Promise<void>): Promise<void>;
  insertDeadLetterRow(row: DeadLetterRow): Promise<void>;
}

export interface ContractCase {
  name: string;
  run(t: StoreUnderTest): Promise<void>;
}

export const link = (referralId: string, crmId: string, overrides: Partial<SyncCommit['link']> = {}): SyncCommit['link'] => ({
  connection: 'dynamics',
  referralId,
  crmEntity: 'opportunity',
  crmId,
  base: {},
  pcEtag: null,
  crmVersion: null,
  syncState: 'ok',
  lastError: null,
  ...overrides,
});

export const commitOf = (l: SyncCommit['link'], rest: Partial<Omit<SyncCommit, 'link'>> = {}): SyncCommit => ({
  link: l,
  audit: [],
  holdConflicts: [],
  releaseConflicts: [],
  ...rest,
});

/** A pair commit of `referralId` ↔ `crm-<referralId>` with `base`. */
export const commitPair = (t: StoreUnderTest, referralId: string, base: Link['base'], syncState: Link['syncState'] = 'ok', connection = 'dynamics') =>
  t.store.sync.commit(
    commitOf(link(referralId, `crm-${referralId}`, { connection, base, syncState, lastError: syncState === 'error' ? 'boom' : null })),
  );
