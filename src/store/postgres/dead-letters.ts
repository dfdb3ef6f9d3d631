import type pg from 'pg';
import type { DeadLetter, Job, JobRequest } from '../types.ts';
import type { Queryable } from './pool.ts';

/** The columns as `DeadLetter` names them (quoted: PostgreSQL folds unquoted aliases to lower case). */
export const DEAD_LETTER_COLUMNS = `id::int AS id, job_key AS "jobKey", connection, referral_id AS "referralId", crm_entity AS "crmEntity",
  crm_id AS "crmId", cause, attempts, error, failed_at AS "failedAt", replayed_at AS "replayedAt", resolved_at AS "resolvedAt",
  resolved_by AS "resolvedBy"`;

/**
 * The job failed for good; `attempts` counts the one that just failed. Runs in the caller's transaction, so the letter
 * is filed together with the completion of the graphile-worker job it stands for.
 */
export async function insertDeadLetter(client: pg.ClientBase, job: Job, error: string): Promise<void> {
  await client.query(
    `INSERT INTO dead_letters (job_key, connection, referral_id, crm_entity, crm_id, cause, attempts, error, failed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [job.key, job.connection, job.referralId, job.crmEntity, job.crmId, job.cause, job.attempts + 1, error, new Date().toISOString()],
  );
}

/**
 * The pair synced, so whatever failed for it before is over: its open dead letters close as resolved by sync. The
 * failure may have been filed under the other side's name (a CRM record not linked yet, then its referral), so the
 * pair's link supplies both names. A sync that left the pair in error (record gone) resolves nothing.
 */
export async function resolveDeadLettersForPair(client: pg.ClientBase, job: Job): Promise<void> {
  type LinkRow = { referral_id: string; crm_entity: string; crm_id: string; sync_state: string };
  const link =
    job.referralId !== null
      ? (await client.query<LinkRow>('SELECT referral_id, crm_entity, crm_id, sync_state FROM links WHERE connection = $1 AND referral_id = $2', [job.connection, job.referralId])).rows[0]
      : job.crmEntity !== null && job.crmId !== null
        ? (await client.query<LinkRow>('SELECT referral_id, crm_entity, crm_id, sync_state FROM links WHERE connection = $1 AND crm_entity = $2 AND crm_id = $3', [job.connection, job.crmEntity, job.crmId])).rows[0]
        : undefined;
  if (link?.sync_state === 'error') return;
  const referralId = link?.referral_id ?? job.referralId;
  const crmEntity = link?.crm_entity ?? job.crmEntity;
  const crmId = link?.crm_id ?? job.crmId;
  await client.query(
    `UPDATE dead_letters SET resolved_at = $1, resolved_by = 'sync'
     WHERE resolved_at IS NULL AND connection = $2
       AND (job_key = $3 OR referral_id = $4 OR (crm_entity = $5 AND crm_id = $6))`,
    [new Date().toISOString(), job.connection, job.key, referralId, crmEntity, crmId],
  );
}

/** Unresolved ones only when `open`; otherwise the history too. Newest first. */
export async function listDeadLetters(db: Queryable, query: { open?: boolean; limit: number }): Promise<DeadLetter[]> {
  const { rows } = await db.query<DeadLetter>(
    `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters ${query.open ? 'WHERE resolved_at IS NULL' : ''} ORDER BY id DESC LIMIT $1`,
    [query.limit],
  );
  return rows;
}

/**
 * Closes an open dead letter as resolved by replay and returns the manual job request that replays it, for the caller
 * to enqueue in the same transaction; null when no open letter has this id. The row is locked, so two operators
 * replaying the same letter at once enqueue it once.
 */
export async function takeDeadLetterForReplay(client: pg.ClientBase, id: number): Promise<JobRequest | null> {
  const { rows } = await client.query<DeadLetter>(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = $1 AND resolved_at IS NULL FOR UPDATE`, [id]);
  const row = rows[0];
  if (!row) return null;
  const now = new Date().toISOString();
  await client.query(`UPDATE dead_letters SET replayed_at = $1, resolved_at = $1, resolved_by = 'replay' WHERE id = $2`, [now, id]);
  return {
    connection: row.connection,
    cause: 'manual',
    referralId: row.referralId ?? undefined,
    crm: row.crmEntity && row.crmId ? { entity: row.crmEntity, id: row.crmId } : undefined,
  };
}
