import type { SqliteDeadLetters } from './dead-letters.ts';
import type { SqlDatabase, SqlStatement } from './driver.ts';
import { jobKeyForCrm, jobKeyForReferral } from '../job-keys.ts';
import type { Job, JobRequest, LeasedJobQueue } from '../types.ts';

/** The columns as `Job` names them; `microsoftSide` (an integer in SQLite) and `enqueuedAt` (ISO text) need converting. */
type JobRow = Omit<Job, 'microsoftSide' | 'enqueuedAt'> & { microsoftSide: number; updatedAt: string };
const JOB_COLUMNS = `key, connection, referral_id AS referralId, crm_entity AS crmEntity, crm_id AS crmId, cause, microsoft_side AS microsoftSide,
  generation, attempts, last_error AS lastError, updated_at AS updatedAt`;

// Re-exported so existing imports keep working; the keys are driver-neutral (see job-keys.ts).
export { jobKeyForCrm, jobKeyForReferral };

/**
 * Durable per-key job queue. One row per pair: enqueueing a pending key only bumps its generation, which is how
 * bursts of events for one record coalesce into one sync.
 *
 * Leases are kept in memory, so a claim writes nothing: one process owns the store file, and it voids every lease when
 * it opens the file (SqliteStore.open), so a durable lease bought nothing after a crash, and a claim counts no attempt.
 * What a crash leaves is the job row, which runs again.
 */
export class SqliteJobQueue implements LeasedJobQueue {
  readonly kind = 'leased' as const;
  private readonly upsert: SqlStatement<[string, string, string | null, string | null, string | null, string, number, number, string, string]>;
  private readonly linkedReferral: SqlStatement<[string, string, string], { referral_id: string }>;
  private readonly setWatermark: SqlStatement<[string, string, string]>;
  private readonly enqueueTx: (requests: readonly JobRequest[], watermark?: { source: string; value: string }) => void;
  private readonly listeners = new Set<() => void>();
  /** Leased keys → when the lease ends (epoch ms). */
  private readonly leases = new Map<string, number>();
  /** Runs completed by their sync's commit (completeInTransaction): key → generation, and whether it reruns. */
  private readonly completedByCommit = new Map<string, { generation: number; rerun: boolean }>();

  constructor(
    private readonly db: SqlDatabase,
    private readonly deadLetters: SqliteDeadLetters,
  ) {
    this.upsert = db.prepare(
      `INSERT INTO jobs (key, connection, referral_id, crm_entity, crm_id, cause, microsoft_side, next_run_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET
         generation = generation + 1,
         microsoft_side = MAX(jobs.microsoft_side, excluded.microsoft_side),
         next_run_at = MIN(next_run_at, excluded.next_run_at),
         referral_id = COALESCE(jobs.referral_id, excluded.referral_id),
         crm_entity = COALESCE(jobs.crm_entity, excluded.crm_entity),
         crm_id = COALESCE(jobs.crm_id, excluded.crm_id),
         updated_at = excluded.updated_at`,
    );
    this.linkedReferral = db.prepare(
      'SELECT referral_id FROM links WHERE connection = ? AND crm_entity = ? AND crm_id = ?',
    );
    this.setWatermark = db.prepare(
      `INSERT INTO watermarks (source, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.enqueueTx = db.transaction((requests: readonly JobRequest[], watermark?: { source: string; value: string }) => {
      this.enqueueInTransaction(requests);
      if (watermark) this.setWatermarkInTransaction(watermark);
    });
  }

  /** Called by the inbox inside its own transaction, so a stream's event and its resume point commit together. */
  setWatermarkInTransaction(watermark: { source: string; value: string }): void {
    this.setWatermark.run(watermark.source, watermark.value, new Date().toISOString());
  }

  /** Called by the inbox inside its own transaction, so an event and the job it causes commit together. */
  enqueueInTransaction(requests: readonly JobRequest[], now = Date.now()): void {
    const stamp = new Date(now).toISOString();
    for (const request of requests) {
      let referralId = request.referralId ?? null;
      const crm = request.crm;
      if (referralId === null && crm) {
        referralId = this.linkedReferral.get(request.connection, crm.entity, crm.id)?.referral_id ?? null;
      }
      let key: string;
      if (referralId !== null) key = jobKeyForReferral(request.connection, referralId);
      else if (crm) key = jobKeyForCrm(request.connection, crm.entity, crm.id);
      else throw new Error('a job request needs a referral id or a CRM record');
      const microsoftSide = request.microsoftSide === false ? 0 : 1;
      this.upsert.run(key, request.connection, referralId, crm?.entity ?? null, crm?.id ?? null, request.cause, microsoftSide, now, stamp, stamp);
    }
    if (requests.length > 0) this.notify();
  }

  async enqueue(requests: readonly JobRequest[], watermark?: { source: string; value: string }): Promise<void> {
    this.enqueueTx(requests, watermark);
  }

  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) queueMicrotask(listener);
  }

  async claim(limit: number, leaseMs: number, now = Date.now()): Promise<Job[]> {
    if (limit <= 0) return [];
    // Due rows, enough of them that `limit` remain once the ones leased now are skipped.
    const rows = this.db
      .prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE next_run_at <= ? ORDER BY next_run_at LIMIT ?`)
      .all(now, limit + this.leases.size) as JobRow[];
    const claimed: Job[] = [];
    for (const row of rows) {
      if (claimed.length >= limit) break;
      const until = this.leases.get(row.key);
      if (until !== undefined && until >= now) continue;
      this.leases.set(row.key, now + leaseMs);
      claimed.push(toJob(row));
    }
    return claimed;
  }

  /**
   * Inside the transaction of the sync's last commit (SyncCommit.completes): the job completes with it, or is marked
   * to rerun when it was enqueued again meanwhile. `complete` then only releases the lease.
   */
  completeInTransaction(job: Job): void {
    this.completedByCommit.set(job.key, { generation: job.generation, rerun: this.completeRow(job) });
  }

  async complete(job: Job): Promise<void> {
    const done = this.completedByCommit.get(job.key);
    let rerun: boolean;
    if (done && done.generation === job.generation) {
      this.completedByCommit.delete(job.key);
      rerun = done.rerun;
    } else {
      rerun = this.db.transaction(() => this.completeRow(job))();
    }
    this.leases.delete(job.key);
    if (rerun) this.notify();
  }

  /** True when the job stays to run again: it was enqueued again while it ran. */
  private completeRow(job: Job): boolean {
    this.deadLetters.resolveForSyncedPair(job);
    const deleted = this.db.prepare('DELETE FROM jobs WHERE key = ? AND generation = ?').run(job.key, job.generation);
    if (deleted.changes > 0) return false;
    // Enqueued again while it ran: the new events may carry changes this run did not see.
    this.db.prepare('UPDATE jobs SET attempts = 0, last_error = NULL WHERE key = ?').run(job.key);
    return true;
  }

  async retry(job: Job, error: string, delayMs: number, now = Date.now()): Promise<void> {
    this.reschedule(job, { attempts: job.attempts + 1, error, runAt: now + delayMs, now });
  }

  async postpone(job: Job, reason: string, delayMs: number, now = Date.now()): Promise<void> {
    this.reschedule(job, { attempts: job.attempts, error: reason, runAt: now + delayMs, now });
  }

  /**
   * Runs the job again at `runAt`. Its row is normally there (leased); if a commit completed the run and the run then
   * failed, the row is put back, so the failure is retried rather than lost.
   */
  private reschedule(job: Job, next: { attempts: number; error: string; runAt: number; now: number }): void {
    this.completedByCommit.delete(job.key);
    const stamp = new Date(next.now).toISOString();
    this.db
      .prepare(
        `INSERT INTO jobs (key, connection, referral_id, crm_entity, crm_id, cause, microsoft_side, generation, attempts, last_error, next_run_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error, next_run_at = excluded.next_run_at, updated_at = excluded.updated_at`,
      )
      .run(job.key, job.connection, job.referralId, job.crmEntity, job.crmId, job.cause, job.microsoftSide ? 1 : 0, job.generation, next.attempts, next.error, next.runAt, stamp, stamp);
    this.leases.delete(job.key);
  }

  async deadLetter(job: Job, error: string): Promise<void> {
    this.completedByCommit.delete(job.key);
    this.db.transaction(() => {
      this.deadLetters.file(job, error);
      this.db.prepare('DELETE FROM jobs WHERE key = ? AND generation = ?').run(job.key, job.generation);
    })();
    this.leases.delete(job.key);
  }

  async depth(): Promise<number> {
    return (this.db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
  }

  /** The earliest run time of a job not leased now. */
  async nextDueAt(): Promise<number | null> {
    const rows = this.db.prepare('SELECT key, next_run_at AS t FROM jobs ORDER BY next_run_at LIMIT ?').all(this.leases.size + 1) as Array<{ key: string; t: number }>;
    return rows.find((row) => !this.leases.has(row.key))?.t ?? null;
  }
}

function toJob(row: JobRow): Job {
  // `updated_at` moves with every enqueue, retry and postponement, never backwards: no earlier than the last enqueue.
  const { updatedAt, ...job } = row;
  return { ...job, microsoftSide: row.microsoftSide !== 0, enqueuedAt: Date.parse(updatedAt) };
}
