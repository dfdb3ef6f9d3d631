import type pg from 'pg';
import type { Job } from '../types.ts';
import { resolveDeadLettersForPair } from './dead-letters.ts';

/**
 * Runs of `sync-pair` jobs that their sync's last commit completed (SyncCommit.completes), by graphile-worker job id.
 * Shared by the store's sync state, which completes them, and its job queue, whose `done` outcome then writes nothing.
 */
export class RunsCompletedByCommit {
  private readonly ids = new Set<string>();

  add(id: string): void {
    this.ids.add(id);
  }

  /** Whether the run was completed by a commit (and forgets it). */
  take(id: string | undefined): boolean {
    return id !== undefined && this.ids.delete(id);
  }
}

/**
 * What a `done` outcome does, inside the caller's transaction: the pair's open dead letters resolve (it synced) and
 * graphile-worker's job is completed as graphile-worker itself completes it (batchCompleteJobs in 0.17.3's
 * sql/completeJobs.js): the row deleted and its queue, the pair's key, unlocked for the pair's next job. When the task
 * then returns, graphile-worker's own completion finds no row and writes nothing (no transaction id, no WAL flush).
 */
export async function completeRunInTransaction(client: pg.ClientBase, job: Job): Promise<void> {
  await resolveDeadLettersForPair(client, job);
  if (job.runnerJobId === undefined) return;
  await client.query(
    `WITH j AS (DELETE FROM graphile_worker._private_jobs WHERE id = $1::bigint RETURNING job_queue_id, locked_by)
     UPDATE graphile_worker._private_job_queues AS queues SET locked_by = NULL, locked_at = NULL
       FROM j WHERE queues.id = j.job_queue_id AND queues.locked_by = j.locked_by`,
    [job.runnerJobId],
  );
}
