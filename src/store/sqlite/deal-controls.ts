import { dealSubject, type AuditEntry, type DealLabel } from '../types.ts';
import type { SqlDatabase } from './driver.ts';
import type { SqliteJobQueue } from './jobs.ts';


const operatorNote = (connection: string, referralId: string, message: string): AuditEntry => ({
  connection,
  referralId,
  crmEntity: null,
  crmId: null,
  direction: 'none',
  field: null,
  oldValue: undefined,
  newValue: undefined,
  cause: 'manual',
  outcome: 'skipped',
  message,
});

/** The console's labels and an operator's pause of a pair: small writes beside the sync state proper. */
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

  pause(connection: string, referralId: string): boolean {
    return this.db.transaction(() => {
      const linked = this.db.prepare('SELECT 1 FROM links WHERE connection = ? AND referral_id = ?').get(connection, referralId) !== undefined;
      if (!linked) return false;
      const added = this.db.prepare('INSERT OR IGNORE INTO paused_pairs (connection, referral_id, paused_at) VALUES (?, ?, ?)').run(connection, referralId, new Date().toISOString());
      if (added.changes === 0) return false;
      this.audit([operatorNote(connection, referralId, 'sync paused by an operator: neither side is written until it is resumed')]);
      return true;
    })();
  }

  resume(connection: string, referralId: string): boolean {
    return this.db.transaction(() => {
      const removed = this.db.prepare('DELETE FROM paused_pairs WHERE connection = ? AND referral_id = ?').run(connection, referralId);
      if (removed.changes === 0) return false;
      this.audit([operatorNote(connection, referralId, 'sync resumed by an operator: both sides are merged with every change made while paused')]);
      // The pair's base was left as it was: this sync's three-way merge sees every change either side made meanwhile.
      this.jobs.enqueueInTransaction([{ connection, cause: 'manual', referralId, microsoftSide: true }]);
      return true;
    })();
  }
}
