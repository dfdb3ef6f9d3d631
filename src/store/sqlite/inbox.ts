import type { SqlDatabase, SqlStatement } from './driver.ts';
import type { AppendResult, Inbox, InboxEvent, InboxQuery, NewInboxEvent, EventSource } from '../types.ts';
import type { SqliteJobQueue } from './jobs.ts';

interface Pending {
  event: NewInboxEvent;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** The columns as `InboxEvent` names them, so a row needs no mapping. */
const EVENT_COLUMNS = 'id, source, dedup_key AS dedupKey, event_name AS eventName, resource_id AS resourceId, payload, received_at AS receivedAt, deliveries';

/**
 * Group commit: appends that arrive while a commit is running are written together in the next transaction, so one
 * fsync covers many webhook requests. Every caller still waits for the commit that contains its event.
 */
export class SqliteInbox implements Inbox {
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly insert: SqlStatement<[string, string, string, string | null, string, string], { id: number }>;
  private readonly bumpDuplicate: SqlStatement<[string, string], { id: number }>;
  private readonly commitBatch: (batch: Pending[]) => AppendResult[];

  constructor(
    private readonly db: SqlDatabase,
    private readonly jobs: SqliteJobQueue,
  ) {
    this.insert = db.prepare(
      `INSERT INTO inbox (source, dedup_key, event_name, resource_id, payload, received_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, dedup_key) DO NOTHING RETURNING id`,
    );
    this.bumpDuplicate = db.prepare(
      `UPDATE inbox SET deliveries = deliveries + 1 WHERE source = ? AND dedup_key = ? RETURNING id`,
    );
    this.commitBatch = db.transaction((batch: Pending[]) => {
      const receivedAt = new Date().toISOString();
      return batch.map(({ event }) => {
        if (event.watermark) this.jobs.setWatermarkInTransaction(event.watermark);
        const inserted = this.insert.get(
          event.source,
          event.dedupKey,
          event.eventName,
          event.resourceId,
          event.payload,
          receivedAt,
        );
        if (inserted) {
          if (event.jobs) this.jobs.enqueueInTransaction(event.jobs);
          return { id: inserted.id, duplicate: false };
        }
        const existing = this.bumpDuplicate.get(event.source, event.dedupKey);
        if (!existing) throw new Error('inbox conflict on a row that does not exist');
        return { id: existing.id, duplicate: true };
      });
    });
  }

  append(event: NewInboxEvent): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits whatever is pending now; used on shutdown so no accepted request is left waiting. */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let results: AppendResult[];
    try {
      results = this.commitBatch(batch);
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i] as AppendResult));
  }

  async list(query: InboxQuery): Promise<InboxEvent[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.beforeId !== undefined) {
      where.push('id < ?');
      params.push(query.beforeId);
    }
    if (query.source !== undefined) {
      where.push('source = ?');
      params.push(query.source);
    }
    if (query.resourceId !== undefined) {
      where.push('resource_id = ?');
      params.push(query.resourceId);
    }
    params.push(query.limit);
    return this.db
      .prepare(`SELECT ${EVENT_COLUMNS} FROM inbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...params) as InboxEvent[];
  }

  async count(source?: EventSource): Promise<number> {
    const row = (
      source === undefined
        ? this.db.prepare('SELECT count(*) AS n FROM inbox').get()
        : this.db.prepare('SELECT count(*) AS n FROM inbox WHERE source = ?').get(source)
    ) as { n: number };
    return row.n;
  }
}
