import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobOutcome, JobRunner } from '../../../src/store/job-runner.ts';
import { enqueuePairJobs } from '../../../src/store/postgres/job-enqueue.ts';
import { PostgresJobQueue } from '../../../src/store/postgres/job-queue.ts';
import type { Job } from '../../../src/store/types.ts';
import { jobsDatabase, silentLogger, storedJobs, testPool, waitFor } from '../../support/pg-jobs.ts';

let db: Awaited<ReturnType<typeof jobsDatabase>>;
let queue: PostgresJobQueue;
const runners: JobRunner[] = [];

beforeEach(async () => {
  db = await jobsDatabase();
  queue = new PostgresJobQueue(db.pool);
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await db.close();
});

const HOUR = 3_600_000;

async function link(pool: pg.Pool, referralId: string, entity: string, id: string): Promise<void> {
  const now = new Date().toISOString();
  await pool.query(
    `INSERT INTO links (connection, referral_id, crm_entity, crm_id, base, created_at, updated_at) VALUES ('c', $1, $2, $3, '{}', $4, $4)`,
    [referralId, entity, id, now],
  );
}

async function start(handle: (job: Job) => Promise<JobOutcome>, concurrency = 2): Promise<JobRunner> {
  const runner = await queue.run({ concurrency, handle, logger: silentLogger, pollIntervalMs: 200 });
  runners.push(runner);
  return runner;
}

describe('PostgresJobQueue.enqueue', () => {
  it('coalesces two enqueues of a key into one job, ORing microsoftSide', async () => {
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1', microsoftSide: false }]);
    await queue.enqueue([{ connection: 'c', cause: 'reconcile', referralId: 'r1', microsoftSide: true }]);
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1', microsoftSide: false }]);
    const jobs = await storedJobs(db.pool);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ key: 'c:ref:r1', queueName: 'c:ref:r1', payload: { referralId: 'r1', microsoftSide: true, cause: 'event', attempts: 0 } });
    expect(await queue.depth()).toBe(1);
    expect(await queue.nextDueAt()).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it('keeps microsoftSide false when no request asked for it', async () => {
    await queue.enqueue([
      { connection: 'c', cause: 'event', referralId: 'r1', microsoftSide: false },
      { connection: 'c', cause: 'event', referralId: 'r1', microsoftSide: false },
    ]);
    const jobs = await storedJobs(db.pool);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.payload.microsoftSide).toBe(false);
  });

  it('files a CRM request for a linked record under its referral', async () => {
    await link(db.pool, 'r2', 'opportunity', 'o2');
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r2', microsoftSide: false }]);
    await queue.enqueue([{ connection: 'c', cause: 'event', crm: { entity: 'opportunity', id: 'o2' }, microsoftSide: false }]);
    await queue.enqueue([{ connection: 'c', cause: 'event', crm: { entity: 'lead', id: 'l9' } }]);
    const jobs = await storedJobs(db.pool);
    expect(jobs.map((job) => job.key).sort()).toEqual(['c:crm:lead:l9', 'c:ref:r2']);
    expect(jobs.find((job) => job.key === 'c:ref:r2')?.payload).toMatchObject({ referralId: 'r2', crmEntity: 'opportunity', crmId: 'o2' });
    expect(jobs.find((job) => job.key === 'c:crm:lead:l9')?.payload).toMatchObject({ referralId: null, crmEntity: 'lead', crmId: 'l9' });
  });

  it('commits the watermark with the jobs', async () => {
    await queue.enqueue([{ connection: 'c', cause: 'reconcile', referralId: 'r1' }], { source: 'pc:c', value: 'cursor-1' });
    const { rows } = await db.pool.query<{ value: string }>("SELECT value FROM watermarks WHERE source = 'pc:c'");
    expect(rows[0]?.value).toBe('cursor-1');
  });

  it('enqueues nothing from a rolled-back transaction', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await enqueuePairJobs(client, [{ connection: 'c', cause: 'event', referralId: 'r1' }]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await storedJobs(db.pool)).toEqual([]);
    expect(await queue.depth()).toBe(0);
    expect(await queue.nextDueAt()).toBeNull();
  });

  it('does not lose the OR when two transactions enqueue one key at once', async () => {
    const first = await db.pool.connect();
    const second = await db.pool.connect();
    try {
      await first.query('BEGIN');
      await enqueuePairJobs(first, [{ connection: 'c', cause: 'event', referralId: 'r1', microsoftSide: true }]);
      await second.query('BEGIN');
      const secondPid = (await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const pending = enqueuePairJobs(second, [{ connection: 'c', cause: 'event', referralId: 'r1', microsoftSide: false }]);
      // The second has read nothing yet: it waits for the first's key lock.
      await waitFor(async () => {
        const { rows } = await db.pool.query<{ waiting: boolean }>("SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1", [secondPid]);
        return rows[0]?.waiting === true;
      }, 'the second enqueue to wait');
      await first.query('COMMIT');
      await pending;
      await second.query('COMMIT');
    } finally {
      first.release();
      second.release();
    }
    const jobs = await storedJobs(db.pool);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.payload.microsoftSide).toBe(true);
  });
});

describe('PostgresJobQueue.run outcomes', () => {
  it('retry: reschedules by our delay with one more attempt; a later enqueue keeps the attempts and runs now', async () => {
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
    const seen: Job[] = [];
    await start(async (job) => {
      seen.push(job);
      return { kind: 'retry', error: 'HTTP 503', delayMs: HOUR };
    });
    const before = Date.now();
    await waitFor(async () => (await storedJobs(db.pool))[0]?.payload.attempts === 1, 'the retry');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ key: 'c:ref:r1', referralId: 'r1', attempts: 0, generation: 1, microsoftSide: true });
    const [job, ...rest] = await storedJobs(db.pool);
    expect(rest).toEqual([]);
    expect(job).toMatchObject({ key: 'c:ref:r1', lockedBy: null, graphileAttempts: 0, payload: { attempts: 1, lastError: 'HTTP 503' } });
    expect(job?.runAt).toBeGreaterThan(before + HOUR / 2);
    expect(await queue.nextDueAt()).toBeGreaterThan(before + HOUR / 2);

    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1', microsoftSide: false }]);
    await waitFor(() => seen.length === 2, 'the rerun after an enqueue');
    expect(seen[1]).toMatchObject({ attempts: 1, lastError: 'HTTP 503', microsoftSide: true });
  });

  it('postpone: reschedules without counting an attempt', async () => {
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
    let runs = 0;
    await start(async () => {
      runs++;
      return { kind: 'postpone', reason: 'waiting for dynamics', delayMs: HOUR };
    });
    const before = Date.now();
    await waitFor(async () => (await storedJobs(db.pool))[0]?.payload.lastError === 'waiting for dynamics', 'the postponement');
    const [job, ...rest] = await storedJobs(db.pool);
    expect(rest).toEqual([]);
    expect(job).toMatchObject({ lockedBy: null, payload: { attempts: 0 } });
    expect(job?.runAt).toBeGreaterThan(before + HOUR / 2);
    expect(runs).toBe(1);
  });

  it('dead: files a dead letter and completes the job', async () => {
    await queue.enqueue([{ connection: 'c', cause: 'manual', crm: { entity: 'lead', id: 'l1' } }]);
    await start(async () => ({ kind: 'dead', error: 'mapping rejects the record' }));
    await waitFor(async () => (await queue.depth()) === 0, 'the job to complete');
    const { rows } = await db.pool.query('SELECT job_key, connection, referral_id, crm_entity, crm_id, cause, attempts, error, resolved_at FROM dead_letters');
    expect(rows).toEqual([
      { job_key: 'c:crm:lead:l1', connection: 'c', referral_id: null, crm_entity: 'lead', crm_id: 'l1', cause: 'manual', attempts: 1, error: 'mapping rejects the record', resolved_at: null },
    ]);
    expect(await storedJobs(db.pool)).toEqual([]);
  });

  it('done: completes the job and resolves the pair\'s open dead letters', async () => {
    await db.pool.query(
      `INSERT INTO dead_letters (job_key, connection, referral_id, cause, attempts, error, failed_at) VALUES ('c:ref:r1', 'c', 'r1', 'event', 10, 'old', $1)`,
      [new Date().toISOString()],
    );
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
    await start(async () => ({ kind: 'done' }));
    await waitFor(async () => (await queue.depth()) === 0, 'the job to complete');
    // The resolution commits before graphile-worker completes the job.
    const { rows } = await db.pool.query('SELECT resolved_by FROM dead_letters');
    expect(rows).toEqual([{ resolved_by: 'sync' }]);
  });

  it('retry while new work was queued: the newer job keeps its run_at, takes the Microsoft side and the attempts', async () => {
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1', microsoftSide: true }]);
    const seen: Job[] = [];
    await start(async (job) => {
      seen.push(job);
      if (seen.length === 1) {
        await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1', microsoftSide: false }]);
        return { kind: 'retry', error: 'HTTP 429', delayMs: HOUR };
      }
      return { kind: 'done' };
    });
    await waitFor(() => seen.length === 2, 'the newer job to run');
    expect(seen[1]).toMatchObject({ key: 'c:ref:r1', attempts: 1, lastError: 'HTTP 429', microsoftSide: true });
    await waitFor(async () => (await queue.depth()) === 0, 'the queue to empty');
    expect(seen).toHaveLength(2);
  });

  it('counts a pair once in depth while it runs with new work queued behind it', async () => {
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
    const during: Array<{ depth: number; due: number | null }> = [];
    await start(async () => {
      if (during.length === 0) {
        await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
        during.push({ depth: await queue.depth(), due: await queue.nextDueAt() });
      }
      return { kind: 'done' };
    });
    await waitFor(async () => during.length === 1 && (await queue.depth()) === 0, 'both runs');
    expect(during[0]?.depth).toBe(1);
    expect(during[0]?.due).not.toBeNull();
  });

  it('an unexpected throw is graphile-worker\'s failure: its attempt and backoff, our payload untouched', async () => {
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
    await start(async () => {
      throw new Error('bug');
    });
    await waitFor(async () => (await storedJobs(db.pool))[0]?.graphileAttempts === 1 && (await storedJobs(db.pool))[0]?.lockedBy === null, 'the failure');
    const [job] = await storedJobs(db.pool);
    expect(job).toMatchObject({ lastError: expect.stringContaining('bug'), payload: { attempts: 0, lastError: null } });
    expect(job?.runAt).toBeGreaterThan(Date.now() - 1_000);
  });

  it('an unexpected throw on graphile-worker\'s last attempt becomes our dead letter', async () => {
    await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
    // As if the earlier attempts had thrown already.
    await db.pool.query("UPDATE graphile_worker._private_jobs SET attempts = max_attempts - 1");
    await start(async () => {
      throw new Error('still a bug');
    });
    await waitFor(async () => (await queue.depth()) === 0, 'the job to complete');
    const { rows } = await db.pool.query('SELECT job_key, error FROM dead_letters');
    expect(rows).toEqual([{ job_key: 'c:ref:r1', error: 'still a bug' }]);
  });
});

describe('PostgresJobQueue.run with two runners', () => {
  it('never runs one key twice at once and runs every job exactly once', async () => {
    const other = testPool(db.database.url);
    try {
      // Fewer pairs than worker slots, so free workers are there to take a second job of a running pair if allowed.
      const keys = Array.from({ length: 6 }, (_, i) => `r${i}`);
      await queue.enqueue(keys.map((referralId) => ({ connection: 'c', cause: 'event' as const, referralId })));
      const running = new Set<string>();
      const runs = new Map<string, number>();
      let overlaps = 0;
      const handle = async (job: Job): Promise<JobOutcome> => {
        if (running.has(job.key)) overlaps++;
        running.add(job.key);
        const n = (runs.get(job.key) ?? 0) + 1;
        runs.set(job.key, n);
        // New work for the pair while it runs: a second job, which must wait for this one.
        if (n === 1) {
          await queue.enqueue([{ connection: 'c', cause: 'event', referralId: job.referralId ?? '' }]);
          // Long enough for a free worker, woken by graphile-worker's NOTIFY, to take the new job if it were allowed.
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        running.delete(job.key);
        return { kind: 'done' };
      };
      await start(handle, 4);
      const second = await new PostgresJobQueue(other).run({ concurrency: 4, handle, logger: silentLogger, pollIntervalMs: 200 });
      runners.push(second);
      await waitFor(() => [...runs.values()].reduce((a, b) => a + b, 0) >= keys.length * 2, 'every job to run');
      await waitFor(async () => (await queue.depth()) === 0, 'the queue to empty');
      expect(overlaps).toBe(0);
      expect(Object.fromEntries(runs)).toEqual(Object.fromEntries(keys.map((key) => [`c:ref:${key}`, 2])));
    } finally {
      for (const runner of runners.splice(0)) await runner.stop();
      await other.end();
    }
  });
});
