import type pg from 'pg';
import type { AppendResult, EventSource, Inbox, InboxEvent, InboxQuery, NewInboxEvent } from '../types.ts';
import { enqueuePairJobs } from './job-enqueue.ts';
import { inTransaction } from './pool.ts';
import { upsertWatermark } from './sync-state.ts';

/** The columns as `InboxEvent` names them (aliases quoted: PostgreSQL folds unquoted ones to lower case). */
const EVENT_COLUMNS = `id, source, dedup_key AS "dedupKey", event_name AS "eventName", resource_id AS "resourceId", payload,
  received_at AS "receivedAt", deliveries`;

type EventRow = Omit<InboxEvent, 'id'> & { id: string };

/**
 * One transaction per append, committed before the promise resolves. No group commit as in SQLite: the server
 * batches the WAL flushes of concurrent commits itself (commit_delay), and each webhook has its own pooled client.
 *
 * A redelivery racing its first delivery (two instances behind a load balancer) is safe: the second INSERT waits on the
 * first one's unique-index entry, then does nothing, and the UPDATE counts the delivery on the committed row.
 */
export class PostgresInbox implements Inbox {
  constructor(private readonly pool: pg.Pool) {}

  append(event: NewInboxEvent): Promise<AppendResult> {
    return inTransaction(this.pool, async (client) => {
      if (event.watermark) await upsertWatermark(client, event.watermark.source, event.watermark.value);
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO inbox (source, dedup_key, event_name, resource_id, payload, received_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, dedup_key) DO NOTHING RETURNING id`,
        [event.source, event.dedupKey, event.eventName, event.resourceId, event.payload, new Date().toISOString()],
      );
      const row = inserted.rows[0];
      if (row) {
        if (event.jobs && event.jobs.length > 0) await enqueuePairJobs(client, event.jobs);
        return { id: Number(row.id), duplicate: false };
      }
      const existing = await client.query<{ id: string }>(
        'UPDATE inbox SET deliveries = deliveries + 1 WHERE source = $1 AND dedup_key = $2 RETURNING id',
        [event.source, event.dedupKey],
      );
      const bumped = existing.rows[0];
      if (!bumped) throw new Error('inbox conflict on a row that does not exist');
      return { id: Number(bumped.id), duplicate: true };
    });
  }

  async list(query: InboxQuery): Promise<InboxEvent[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    const add = (clause: (n: number) => string, value: string | number | undefined) => {
      if (value === undefined) return;
      params.push(value);
      where.push(clause(params.length));
    };
    add((n) => `id < $${n}`, query.beforeId);
    add((n) => `source = $${n}`, query.source);
    add((n) => `resource_id = $${n}`, query.resourceId);
    params.push(query.limit);
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM inbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }

  async count(source?: EventSource): Promise<number> {
    const { rows } =
      source === undefined
        ? await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox')
        : await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox WHERE source = $1', [source]);
    return rows[0]?.n ?? 0;
  }
}
