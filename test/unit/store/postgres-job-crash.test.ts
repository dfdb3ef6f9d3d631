import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobOutcome, JobRunner } from '../../../src/store/job-runner.ts';
import { PostgresJobQueue, type PostgresJobRunnerOptions } from '../../../src/store/postgres/job-queue.ts';
import type { Job } from '../../../src/store/types.ts';
import { jobsDatabase, silentLogger, storedJobs, testPool, waitFor } from '../../support/pg-jobs.ts';

const CHILD = fileURLToPath(new URL('../../support/pg-job-runner-child.ts', import.meta.url));
const UNLOCK_MS = 1_500;

let db: Awaited<ReturnType<typeof jobsDatabase>>;
beforeEach(async () => {
  db = await jobsDatabase();
});
afterEach(async () => {
  await db.close();
});

/** A runner of this process: one job at a time, polling often, another's job unlocked after UNLOCK_MS without heartbeat. */
const runnerOptions = (handle: (job: Job) => Promise<JobOutcome>): PostgresJobRunnerOptions => ({
  concurrency: 1,
  logger: silentLogger,
  pollIntervalMs: 200,
  crashUnlockAfterMs: UNLOCK_MS,
  handle,
});

interface WhileRunnerAHolds {
  /** SIGKILLs runner A and waits for its exit. */
  killRunnerA(): Promise<void>;
  /** Starts runner B in this process; it is stopped after the case. */
  startRunnerB(handle: (job: Job) => Promise<JobOutcome>): Promise<JobRunner>;
}

/**
 * Pair r1's job enqueued and claimed by runner A, a child process that holds it; then `during`. Afterwards A is killed
 * if it still runs and B stopped if it was started, whatever `during` did.
 */
async function whileRunnerAHoldsAJob(queue: PostgresJobQueue, during: (runners: WhileRunnerAHolds) => Promise<void>): Promise<void> {
  await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, db.database.url, String(UNLOCK_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let runner: JobRunner | undefined;
  try {
    await waitFor(() => output.includes('claimed c:ref:r1'), 'runner A to claim the job', 60_000);
    await during({
      killRunnerA: async () => {
        child.kill('SIGKILL');
        await exited;
      },
      startRunnerB: async (handle) => (runner = await queue.run(runnerOptions(handle))),
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await runner?.stop();
  }
}

describe('PostgresJobQueue crash recovery', () => {
  it('runs the job of a runner killed mid-job once its heartbeat is older than the limit', async () => {
    const queue = new PostgresJobQueue(db.pool);
    await whileRunnerAHoldsAJob(queue, async ({ killRunnerA, startRunnerB }) => {
      expect((await storedJobs(db.pool))[0]?.lockedBy).not.toBeNull();
      await killRunnerA();

      const seen: Job[] = [];
      await startRunnerB(async (job) => {
        seen.push(job);
        return { kind: 'done' };
      });
      await waitFor(() => seen.length === 1, 'runner B to run the crashed job', 30_000);
      await waitFor(async () => (await queue.depth()) === 0, 'the job to complete');
      expect(seen[0]).toMatchObject({ key: 'c:ref:r1', attempts: 0 });
      // A's stale heartbeat is gone, B's own is there.
      const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM job_runner_heartbeats');
      expect(Number(rows[0]?.n)).toBe(1);
    });
  });

  it('runs the work queued behind a killed runner\'s job once, and clears the replaced row it left', async () => {
    const queue = new PostgresJobQueue(db.pool);
    await whileRunnerAHoldsAJob(queue, async ({ killRunnerA, startRunnerB }) => {
      // New work for the pair while A runs it: graphile-worker adds a new job and marks A's as spent (no key, attempts
      // = max_attempts), so A's row will never run again once A is gone.
      await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
      expect(await storedJobs(db.pool)).toHaveLength(2);
      await killRunnerA();

      let runs = 0;
      await startRunnerB(async () => {
        runs++;
        return { kind: 'done' };
      });
      await waitFor(async () => (await storedJobs(db.pool)).length === 0, 'every job row to be gone', 30_000);
      expect(runs).toBe(1);
    });
  });

  it('leaves a live runner\'s job alone when it runs longer than the limit', async () => {
    const queue = new PostgresJobQueue(db.pool);
    const other = testPool(db.database.url);
    const runners: JobRunner[] = [];
    try {
      await queue.enqueue([{ connection: 'c', cause: 'event', referralId: 'r1' }]);
      let runs = 0;
      let started = 0;
      const handle = async (): Promise<JobOutcome> => {
        runs++;
        started = Date.now();
        // Several limits long: the heartbeat, not the lock's age, must keep it ours.
        await waitFor(() => Date.now() - started > UNLOCK_MS * 3, 'a long sync');
        return { kind: 'done' };
      };
      const options = runnerOptions(handle);
      runners.push(await queue.run(options));
      runners.push(await new PostgresJobQueue(other).run(options));
      await waitFor(async () => runs === 1 && (await queue.depth()) === 0, 'the job to complete');
      expect(runs).toBe(1);
    } finally {
      for (const runner of runners) await runner.stop();
      await other.end();
    }
  });
});
