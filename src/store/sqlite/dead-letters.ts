import type { SqlDatabase } from './driver.ts';
import type { DeadLetter, Job, JobRequest } from '../types.ts';

/** The columns as `DeadLetter` names them, so a row needs no mapping. */
export const DEAD_LETTER_COLUMNS = `id, job_key AS jobKey, connection, referral_id AS referralId, crm_entity AS crmEntity, crm_id AS crmId, cause,
  attempts, error, failed_at AS failedAt, replayed_at AS replayedAt, resolved_at AS resolvedAt, resolved_by AS resolvedBy`;

/**
 * The dead-letter table, in one place: the job queue files a job here when it gives up and closes its pair's letters
 * when the pair syncs; operators list and replay them through the sync state. Each method runs inside the caller's
 * transaction (or as one statement), so a letter moves together with the job it stands for.
 */
export class SqliteDeadLetters {
  constructor(private readonly db: SqlDatabase) {}

  /** The job failed for good; `attempts` counts the one that just failed. */
  file(job: Job, error: string): void {
    this.db
      .prepare(
        `INSERT INTO dead_letters (job_key, connection, referral_id, crm_entity, crm_id, cause, attempts, error, failed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(job.key, job.connection, job.referralId, job.crmEntity, job.crmId, job.cause, job.attempts + 1, error, new Date().toISOString());
  }

  /**
   * The pair synced, so whatever failed for it before is over: its open dead letters close as resolved by sync. The
   * failure may have been filed under the other side's name (a CRM record not linked yet, then its referral), so the
   * pair's link supplies both names. A sync that left the pair in error (record gone) resolves nothing.
   */
  resolveForSyncedPair(job: Job): void {
    const link = (
      job.referralId !== null
        ? this.db.prepare('SELECT referral_id, crm_entity, crm_id, sync_state FROM links WHERE connection = ? AND referral_id = ?').get(job.connection, job.referralId)
        : job.crmEntity !== null && job.crmId !== null
          ? this.db.prepare('SELECT referral_id, crm_entity, crm_id, sync_state FROM links WHERE connection = ? AND crm_entity = ? AND crm_id = ?').get(job.connection, job.crmEntity, job.crmId)
          : undefined
    ) as { referral_id: string; crm_entity: string; crm_id: string; sync_state: string } | undefined;
    if (link?.sync_state === 'error') return;
    const referralId = link?.referral_id ?? job.referralId;
    const crmEntity = link?.crm_entity ?? job.crmEntity;
    const crmId = link?.crm_id ?? job.crmId;
    this.db
      .prepare(
        `UPDATE dead_letters SET resolved_at = ?, resolved_by = 'sync'
         WHERE resolved_at IS NULL AND connection = ?
           AND (job_key = ? OR referral_id = ? OR (crm_entity = ? AND crm_id = ?))`,
      )
      .run(new Date().toISOString(), job.connection, job.key, referralId, crmEntity, crmId);
  }

  /** Unresolved ones only when `open`; otherwise the history too. Newest first. */
  list(query: { open?: boolean; limit: number }): DeadLetter[] {
    return this.db
      .prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters ${query.open ? 'WHERE resolved_at IS NULL' : ''} ORDER BY id DESC LIMIT ?`)
      .all(query.limit) as DeadLetter[];
  }

  /**
   * Closes an open dead letter as resolved by replay and returns the manual job request that replays it, for the
   * caller to enqueue in the same transaction; null when no open letter has this id.
   */
  takeForReplay(id: number): JobRequest | null {
    const row = this.db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ? AND resolved_at IS NULL`).get(id) as DeadLetter | undefined;
    if (!row) return null;
    const now = new Date().toISOString();
    this.db.prepare(`UPDATE dead_letters SET replayed_at = ?, resolved_at = ?, resolved_by = 'replay' WHERE id = ?`).run(now, now, id);
    return {
      connection: row.connection,
      cause: 'manual',
      referralId: row.referralId ?? undefined,
      crm: row.crmEntity && row.crmId ? { entity: row.crmEntity, id: row.crmId } : undefined,
    };
  }
}
