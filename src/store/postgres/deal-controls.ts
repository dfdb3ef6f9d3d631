import type pg from 'pg';
import { dealSubject, type AuditEntry, type DealLabel, type PauseHolder } from '../types.ts';
import { OPERATOR, pauseMessage, pauseNote, resumeMessage } from '../pause-audit.ts';
import { enqueuePairJobs } from './job-enqueue.ts';
import { inTransaction, type Queryable } from './pool.ts';

/**
 * Serialises pause and resume of one pair across instances: without it, an operator's resume and a seller's Yes
 * committing at once would each still see the other's (uncommitted-deleted) hold, and neither would queue the sync.
 */
async function lockPair(client: pg.ClientBase, connection: string, referralId: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`pause:${JSON.stringify([connection, referralId])}`]);
}

/** The console's labels and the pause of a pair (an operator's or a seller's): small writes beside the sync state proper. */
export class PostgresDealControls {
  constructor(
    private readonly pool: pg.Pool,
    private readonly audit: (client: pg.ClientBase, entries: readonly AuditEntry[]) => Promise<void>,
  ) {}

  /** `client`: inside that client's transaction (a sync commit's), else on its own. */
  async label(label: DealLabel, client: Queryable = this.pool): Promise<void> {
    // Written on every read of a deal. An unchanged label must cost no write: ON CONFLICT DO UPDATE locks the existing
    // row even when its WHERE keeps it, and that lock takes a transaction id and a WAL flush at commit. So the row is
    // inserted only when no identical one exists (an INSERT of no rows takes neither).
    await client.query(
      `INSERT INTO deal_labels (connection, subject, referral_id, crm_entity, crm_id, name, customer, respond_by, updated_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
        WHERE NOT EXISTS (
          SELECT 1 FROM deal_labels WHERE connection = $1 AND subject = $2
             AND name IS NOT DISTINCT FROM $6 AND customer IS NOT DISTINCT FROM $7 AND respond_by IS NOT DISTINCT FROM $8::text)
       ON CONFLICT (connection, subject) DO UPDATE SET name = excluded.name, customer = excluded.customer, respond_by = excluded.respond_by, updated_at = excluded.updated_at
       WHERE deal_labels.name IS DISTINCT FROM excluded.name OR deal_labels.customer IS DISTINCT FROM excluded.customer
         OR deal_labels.respond_by IS DISTINCT FROM excluded.respond_by`,
      [label.connection, dealSubject(label), label.referralId, label.crmEntity, label.crmId, label.name, label.customer, label.respondBy, new Date().toISOString()],
    );
  }

  async isPaused(connection: string, referralId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM paused_pairs WHERE connection = $1 AND referral_id = $2 LIMIT 1', [connection, referralId]);
    return (rowCount ?? 0) > 0;
  }

  pausedBy(connection: string, referralId: string, db: Queryable = this.pool): Promise<PauseHolder['by'][]> {
    return db
      .query<{ paused_by: PauseHolder['by'] }>('SELECT paused_by FROM paused_pairs WHERE connection = $1 AND referral_id = $2 ORDER BY paused_by', [connection, referralId])
      .then(({ rows }) => rows.map((r) => r.paused_by));
  }

  pause(connection: string, referralId: string, holder: PauseHolder = OPERATOR): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      await lockPair(client, connection, referralId);
      const link = await linkOf(client, connection, referralId);
      if (!link) return false;
      const added = await client.query(
        'INSERT INTO paused_pairs (connection, referral_id, paused_by, paused_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [connection, referralId, holder.by, new Date().toISOString()],
      );
      if ((added.rowCount ?? 0) === 0) return false;
      await this.audit(client, [pauseNote(link, holder, pauseMessage(holder))]);
      return true;
    });
  }

  resume(connection: string, referralId: string, holder: PauseHolder = OPERATOR): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      await lockPair(client, connection, referralId);
      const removed = await client.query('DELETE FROM paused_pairs WHERE connection = $1 AND referral_id = $2 AND paused_by = $3', [connection, referralId, holder.by]);
      if ((removed.rowCount ?? 0) === 0) return false;
      const link = (await linkOf(client, connection, referralId)) ?? { connection, referralId, crmEntity: '', crmId: '' };
      const stillHeldBy = await this.pausedBy(connection, referralId, client);
      await this.audit(client, [pauseNote(link, holder, resumeMessage(holder, stillHeldBy))]);
      if (stillHeldBy.length > 0) return true;
      // The pair's base was left as it was: this sync's three-way merge sees every change either side made meanwhile.
      // It names the CRM record too, so the record is read even when the referral did not change.
      const crm = link.crmId !== '' ? { entity: link.crmEntity, id: link.crmId } : undefined;
      await enqueuePairJobs(client, [{ connection, cause: holder.by === 'seller' ? 'event' : 'manual', referralId, crm, microsoftSide: true }]);
      return true;
    });
  }
}

async function linkOf(client: Queryable, connection: string, referralId: string): Promise<{ connection: string; referralId: string; crmEntity: string; crmId: string } | undefined> {
  const row = (await client.query<{ crm_entity: string; crm_id: string }>('SELECT crm_entity, crm_id FROM links WHERE connection = $1 AND referral_id = $2', [connection, referralId])).rows[0];
  return row ? { connection, referralId, crmEntity: row.crm_entity, crmId: row.crm_id } : undefined;
}
