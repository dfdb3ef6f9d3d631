import type { SqlDatabase } from './driver.ts';
import type { RetentionPolicy } from '../../config/retention.ts';
import type { Logger } from '../../util/logger.ts';

export interface CompactionReport {
  inbox: number;
  audit: number;
  deadLetters: number;
}

/** Rows per delete transaction: each is short, so webhook commits waiting on the write lock never wait long. */
const BATCH = 2000;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Deletes the history `store.retention` no longer keeps, in small transactions with a yield to the event loop
 * between them. Freed pages are reused by later inserts (the file stops growing rather than shrinking); the WAL is
 * checkpointed at the end so it does not keep the deleted pages' frames around.
 */
export class StoreCompactor {
  constructor(private readonly db: SqlDatabase) {}

  async compact(policy: RetentionPolicy, now: Date = new Date()): Promise<CompactionReport> {
    const before = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
    const report: CompactionReport = { inbox: 0, audit: 0, deadLetters: 0 };
    if (policy.inboxDays > 0) {
      report.inbox += await this.deleteInBatches(
        'DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE received_at < ? ORDER BY id LIMIT ?)',
        before(policy.inboxDays),
      );
    }
    // Ids only grow, so the newest inboxMaxEvents rows are those above the id found that many rows down.
    const floor = this.db
      .prepare<[number], { id: number }>('SELECT id FROM inbox ORDER BY id DESC LIMIT 1 OFFSET ?')
      .get(policy.inboxMaxEvents - 1)?.id;
    if (floor !== undefined) {
      report.inbox += await this.deleteInBatches('DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE id < ? ORDER BY id LIMIT ?)', floor);
    }
    if (policy.auditDays > 0) {
      report.audit = await this.deleteInBatches(
        'DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY id LIMIT ?)',
        before(policy.auditDays),
      );
    }
    if (policy.resolvedDeadLetterDays > 0) {
      report.deadLetters = await this.deleteInBatches(
        `DELETE FROM dead_letters WHERE id IN
           (SELECT id FROM dead_letters WHERE COALESCE(resolved_at, replayed_at) < ? ORDER BY id LIMIT ?)`,
        before(policy.resolvedDeadLetterDays),
      );
    }
    if (report.inbox + report.audit + report.deadLetters > 0) {
      this.db.exec('PRAGMA wal_checkpoint(PASSIVE)');
      this.db.exec('PRAGMA optimize');
    }
    return report;
  }

  private async deleteInBatches(sql: string, bound: string | number): Promise<number> {
    const statement = this.db.prepare<[string | number, number]>(sql);
    let total = 0;
    for (;;) {
      const changes = Number(statement.run(bound, BATCH).changes);
      total += changes;
      if (changes < BATCH) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** What the schedule runs: the SQLite store's StoreCompactor or the PostgreSQL store's PostgresCompactor. */
export interface StoreCompaction {
  compact(policy: RetentionPolicy): Promise<CompactionReport>;
}

export interface RetentionSchedule {
  /** Runs one pass now (or waits for the one under way). */
  runNow(): Promise<CompactionReport>;
  stop(): Promise<void>;
}

/** A pass shortly after start, then every policy.intervalMinutes; a failed pass is logged and the next one tries again. */
export function startRetentionSchedule(compactor: StoreCompaction, policy: RetentionPolicy, logger: Logger): RetentionSchedule {
  let running: Promise<CompactionReport> | undefined;
  let stopped = false;
  const run = (): Promise<CompactionReport> => {
    running ??= compactor
      .compact(policy)
      .then((report) => {
        if (report.inbox + report.audit + report.deadLetters > 0) logger.info({ deleted: report }, 'store compaction');
        return report;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const tick = () => {
    if (stopped) return;
    run().catch((error: unknown) => logger.error({ err: error }, 'store compaction failed'));
  };
  const first = setTimeout(tick, 5_000);
  const every = setInterval(tick, policy.intervalMinutes * 60_000);
  first.unref();
  every.unref();
  return {
    runNow: run,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
      await running?.catch(() => undefined);
    },
  };
}
