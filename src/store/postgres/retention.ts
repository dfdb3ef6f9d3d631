import type pg from 'pg';
import type { RetentionPolicy } from '../../config/retention.ts';
import type { CompactionReport } from '../sqlite/retention.ts';

export type { CompactionReport };

/** Rows per delete statement: each is short, so the row locks and WAL of one batch stay small. */
const BATCH = 2000;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Deletes the history `store.retention` no longer keeps (the API and rules of the SQLite store's StoreCompactor), in
 * batches of autocommitted statements. Autovacuum reclaims the dead rows; nothing else is needed here.
 */
export class PostgresCompactor {
  constructor(private readonly pool: pg.Pool) {}

  async compact(policy: RetentionPolicy, now: Date = new Date()): Promise<CompactionReport> {
    const before = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
    const report: CompactionReport = { inbox: 0, audit: 0, deadLetters: 0 };
    if (policy.inboxDays > 0) {
      report.inbox += await this.deleteInBatches(
        'DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE received_at COLLATE "C" < $1 ORDER BY id LIMIT $2)',
        before(policy.inboxDays),
      );
    }
    // Ids only grow, so the newest inboxMaxEvents rows are those above the id found that many rows down.
    const floor = (await this.pool.query<{ id: string }>('SELECT id FROM inbox ORDER BY id DESC LIMIT 1 OFFSET $1', [policy.inboxMaxEvents - 1])).rows[0]?.id;
    if (floor !== undefined) {
      report.inbox += await this.deleteInBatches('DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE id < $1 ORDER BY id LIMIT $2)', floor);
    }
    if (policy.auditDays > 0) {
      report.audit = await this.deleteInBatches(
        'DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at COLLATE "C" < $1 ORDER BY id LIMIT $2)',
        before(policy.auditDays),
      );
    }
    if (policy.resolvedDeadLetterDays > 0) {
      report.deadLetters = await this.deleteInBatches(
        `DELETE FROM dead_letters WHERE id IN
           (SELECT id FROM dead_letters WHERE COALESCE(resolved_at, replayed_at) COLLATE "C" < $1 ORDER BY id LIMIT $2)`,
        before(policy.resolvedDeadLetterDays),
      );
    }
    return report;
  }

  private async deleteInBatches(sql: string, bound: string): Promise<number> {
    let total = 0;
    for (;;) {
      const changes = (await this.pool.query(sql, [bound, BATCH])).rowCount ?? 0;
      total += changes;
      if (changes < BATCH) return total;
    }
  }
}
