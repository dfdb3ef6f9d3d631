import type pg from 'pg';
import type { Logger } from '../../util/logger.ts';
import { SYNC_PAIR_TASK } from './job-payload.ts';

/**
 * Crash recovery for graphile-worker 0.17.3. A worker pool that dies mid-job leaves the job (and its pair's queue)
 * locked; graphile-worker itself only frees locks older than 4 hours (sql/resetLockedAt: `locked_at < now() -
 * interval '4 hours'`, checked every 8-10 minutes), far too long for a pair to stall. It offers
 * `force_unlock_workers(ids)` for this, leaving the "which ids are dead" question to us.
 *
 * So every runner heartbeats its pool id (graphile-worker's `locked_by`) into `job_runner_heartbeats` (created by
 * migrations.ts), and each one
 * unlocks the jobs of any locker that has no fresh heartbeat and whose lock is older than the limit. The lock age
 * covers a pool that claimed a job before its first heartbeat. Times are the database's clock, so instances with
 * skewed clocks agree.
 *
 * The cost: a live runner silent for longer than the limit (event loop blocked, cut off from the database) loses its
 * locks and its pair may run twice at once; hence a limit well above any pause (default 30 s).
 */
export class RunnerLiveness {
  private readonly ids = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: { staleAfterMs: number; logger: Logger },
  ) {}

  /** A graphile-worker pool id of this runner (`pool:create`); heartbeats start at once. */
  track(id: string): void {
    this.ids.add(id);
    if (this.timer) void this.tick();
  }

  start(): void {
    // Three beats per limit: one lost beat (a slow query) does not make a live runner look dead.
    this.timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.options.staleAfterMs / 3)));
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    // A clean stop released its jobs; its heartbeat row is just clutter now.
    if (this.ids.size > 0) {
      await this.pool.query('DELETE FROM job_runner_heartbeats WHERE worker_id = ANY($1::text[])', [[...this.ids]]).catch(() => undefined);
    }
  }

  private tick(): Promise<void> {
    // One beat at a time: a slow database must not pile them up.
    this.beating ??= this.beat()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'job runner heartbeat failed'))
      .finally(() => {
        this.beating = undefined;
      });
    return this.beating;
  }

  private async beat(): Promise<void> {
    const now = 'floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint';
    if (this.ids.size > 0) {
      await this.pool.query(
        `INSERT INTO job_runner_heartbeats (worker_id, beat_at) SELECT id, ${now} FROM unnest($1::text[]) AS id
         ON CONFLICT (worker_id) DO UPDATE SET beat_at = excluded.beat_at`,
        [[...this.ids]],
      );
    }
    const limit = this.options.staleAfterMs;
    const { rows } = await this.pool.query<{ locked_by: string }>(
      `SELECT DISTINCT jobs.locked_by FROM graphile_worker.jobs AS jobs
        WHERE jobs.locked_by IS NOT NULL
          AND jobs.locked_at < clock_timestamp() - make_interval(secs => $1::double precision / 1000)
          AND NOT EXISTS (SELECT 1 FROM job_runner_heartbeats AS beats
                           WHERE beats.worker_id = jobs.locked_by AND beats.beat_at >= ${now} - $1::bigint)`,
      [limit],
    );
    // Rows of runners gone long ago that held no job (the unlock below only clears the ones it acts on). Safe: a row
    // this old already counts as no heartbeat, and a runner that is somehow alive writes its row again next beat.
    await this.pool.query(`DELETE FROM job_runner_heartbeats WHERE beat_at < ${now} - $1::bigint`, [limit * 10]);
    const dead = rows.map((row) => row.locked_by);
    if (dead.length > 0) {
      // Unlocks their jobs and their pairs' queues; the jobs run again at their run_at (already past).
      await this.pool.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [dead]);
      await this.pool.query('DELETE FROM job_runner_heartbeats WHERE worker_id = ANY($1::text[])', [dead]);
      this.options.logger.warn({ workers: dead, staleAfterMs: limit }, 'unlocked the jobs of job runners with no heartbeat (crashed or cut off)');
    }
    await this.clearSpentJobs();
  }

  /**
   * Deletes sync-pair rows graphile-worker will never run again, through its own `complete_jobs`: a job replaced while
   * it ran (add_job clears its key and sets attempts = max_attempts, leaving the new job to do the work) whose runner
   * then died, and a job that failed its last attempt (filed as our dead letter then, the one failure record). Left
   * in place they pile up (172 after 10 kills in bench:cluster-kill) and the console would count them as retrying.
   */
  private async clearSpentJobs(): Promise<void> {
    const { rowCount } = await this.pool.query(
      `SELECT graphile_worker.complete_jobs(array(
         SELECT id FROM graphile_worker.jobs
          WHERE task_identifier = $1 AND locked_at IS NULL AND attempts >= max_attempts
          LIMIT 1000))`,
      [SYNC_PAIR_TASK],
    );
    if (rowCount !== null && rowCount > 0) this.options.logger.debug({ jobs: rowCount }, 'cleared spent job rows');
  }
}
