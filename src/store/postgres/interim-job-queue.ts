import type pg from 'pg';
import type { Job, JobQueue, JobRequest } from '../types.ts';
import { enqueuePairJobs } from './job-enqueue.ts';
import { SYNC_PAIR_TASK } from './job-payload.ts';
import { inTransaction } from './pool.ts';
import { upsertWatermark } from './sync-state.ts';

/**
 * TEMPORARY: stands in for pgqueue's PostgresJobQueue (src/store/postgres/job-queue.ts) until that class is merged,
 * which replaces this file. It enqueues (through the shared enqueuePairJobs) and counts; running jobs is
 * graphile-worker's runner's work, so claim and the rest refuse.
 */
export class InterimJobQueue implements JobQueue {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly pool: pg.Pool) {}

  async enqueue(requests: readonly JobRequest[], watermark?: { source: string; value: string }): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      if (requests.length > 0) await enqueuePairJobs(client, requests);
      if (watermark) await upsertWatermark(client, watermark.source, watermark.value);
    });
    for (const listener of this.listeners) queueMicrotask(listener);
  }

  async depth(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = $1', [SYNC_PAIR_TASK]);
    return rows[0]?.n ?? 0;
  }

  async nextDueAt(): Promise<number | null> {
    const { rows } = await this.pool.query<{ at: string | null }>(
      'SELECT (extract(epoch FROM min(run_at)) * 1000)::bigint AS at FROM graphile_worker.jobs WHERE task_identifier = $1 AND locked_at IS NULL',
      [SYNC_PAIR_TASK],
    );
    return rows[0]?.at == null ? null : Number(rows[0].at);
  }

  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  claim(): Promise<Job[]> {
    return notHere('claim');
  }

  complete(): Promise<void> {
    return notHere('complete');
  }

  retry(): Promise<void> {
    return notHere('retry');
  }

  postpone(): Promise<void> {
    return notHere('postpone');
  }

  deadLetter(): Promise<void> {
    return notHere('deadLetter');
  }
}

function notHere(method: string): Promise<never> {
  return Promise.reject(new Error(`InterimJobQueue.${method}: not available until pgqueue's PostgresJobQueue replaces this interim queue`));
}
