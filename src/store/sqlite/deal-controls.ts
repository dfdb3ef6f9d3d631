import { dealSubject, type AuditEntry, type DealLabel, type PauseHolder } from '../types.ts';
import { OPERATOR, pauseMessage, pauseNote, resumeMessage } from '../pause-audit.ts';
import type { SqlDatabase } from './driver.ts';
import type { SqliteJobQueue } from './jobs.ts';

/** The console's labels and the pause of a pair (an operator's or a seller's): small writes beside the sync state proper. */
export class SqliteDealControls {
  constructor(
    private readonly db: SqlDatabase,
    private readonly jobs: SqliteJobQueue,
    private readonly audit: (entries: readonly AuditEntry[]) => void,
  ) {}

  label(label: DealLabel): void {
    // Written on every read of a deal: the WHERE keeps an unchanged label from costing a page write.
    this.db
      .prepare(
        `INSERT INTO deal_labels (connection, subject, referral_id, crm_entity, crm_id, name, customer, respond_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (connection, subject) DO UPDATE SET name = excluded.name, customer = excluded.customer, respond_by = excluded.respond_by, updated_at = excluded.updated_at
         WHERE name IS NOT excluded.name OR customer IS NOT excluded.customer OR respond_by IS NOT excluded.respond_by`,
      )
      .run(label.connection, dealSubject(label), label.referralId, label.crmEntity, label.crmId, label.name, label.customer, label.respondBy, new Date().toISOString());
  }

  isPaused(connection: string, referralId: string): boolean {
    return this.db.prepare('SELECT 1 FROM paused_pairs WHERE connection = ? AND referral_id = ?').get(connection, referralId) !== undefined;
  }

  pausedBy(connection: string, referralId: string): PauseHolder['by'][] {
    const rows = this.db.prepare('SELECT paused_by FROM paused_pairs WHERE connection = ? AND referral_id = ? ORDER BY paused_by').all(connection, referralId) as Array<{ paused_by: PauseHolder['by'] }>;
    return rows.map((r) => r.paused_by);
  }

  pause(connection: string, referralId: string, holder: PauseHolder = OPERATOR): boolean {
    return this.db.transaction(() => {
      const link = this.linkOf(connection, referralId);
      if (!link) return false;
      const added = this.db
        .prepare('INSERT OR IGNORE INTO paused_pairs (connection, referral_id, paused_by, paused_at) VALUES (?, ?, ?, ?)')
        .run(connection, referralId, holder.by, new Date().toISOString());
      if (added.changes === 0) return false;
      this.audit([pauseNote(link, holder, pauseMessage(holder))]);
      return true;
    })();
  }

  resume(connection: string, referralId: string, holder: PauseHolder = OPERATOR): boolean {
    return this.db.transaction(() => {
      const removed = this.db.prepare('DELETE FROM paused_pairs WHERE connection = ? AND referral_id = ? AND paused_by = ?').run(connection, referralId, holder.by);
      if (removed.changes === 0) return false;
      const link = this.linkOf(connection, referralId) ?? { connection, referralId, crmEntity: '', crmId: '' };
      const stillHeldBy = this.pausedBy(connection, referralId);
      this.audit([pauseNote(link, holder, resumeMessage(holder, stillHeldBy))]);
      if (stillHeldBy.length > 0) return true;
      // The pair's base was left as it was: this sync's three-way merge sees every change either side made meanwhile.
      // It names the CRM record too, so the record is read even when the referral did not change.
      const crm = link.crmId !== '' ? { entity: link.crmEntity, id: link.crmId } : undefined;
      this.jobs.enqueueInTransaction([{ connection, cause: holder.by === 'seller' ? 'event' : 'manual', referralId, crm, microsoftSide: true }]);
      return true;
    })();
  }

  private linkOf(connection: string, referralId: string): { connection: string; referralId: string; crmEntity: string; crmId: string } | undefined {
    const row = this.db.prepare('SELECT crm_entity, crm_id FROM links WHERE connection = ? AND referral_id = ?').get(connection, referralId) as
      | { crm_entity: string; crm_id: string }
      | undefined;
    return row ? { connection, referralId, crmEntity: row.crm_entity, crmId: row.crm_id } : undefined;
  }
}
