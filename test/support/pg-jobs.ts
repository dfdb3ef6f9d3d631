import pg from 'pg';
import pino from 'pino';
import { migrate } from '../../src/store/postgres/migrations.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

/** A fresh database with the store's schema (and graphile-worker's), and a pool on it. */
export async function jobsDatabase(): Promise<{ database: TestDatabase; pool: pg.Pool; close(): Promise<void> }> {
  const database = await createTestDatabase('cosell_jobs');
  const pool = testPool(database.url);
  await migrate(pool);
  return {
    database,
    pool,
    async close() {
      await pool.end();
      await database.drop();
    },
  };
}

export const silentLogger = pino({ level: 'silent' });

export interface StoredPairJob {
  id: string;
  key: string | null;
  queueName: string | null;
  runAt: number;
  lockedBy: string | null;
  graphileAttempts: number;
  maxAttempts: number;
  lastError: string | null;
  payload: {
    connection: string;
    referralId: string | null;
    crmEntity: string | null;
    crmId: string | null;
    cause: string;
    microsoftSide: boolean;
    attempts: number;
    lastError: string | null;
    enqueuedAt: number;
  };
}

/** Every sync-pair job row, oldest first (the payload is only in graphile-worker's private table). */
export async function storedJobs(pool: pg.Pool): Promise<StoredPairJob[]> {
  const { rows } = await pool.query<StoredPairJob>(
    `SELECT jobs.id::text AS id, jobs.key, jobs.queue_name AS "queueName", (extract(epoch FROM jobs.run_at) * 1000)::float8 AS "runAt",
            jobs.locked_by AS "lockedBy", jobs.attempts AS "graphileAttempts", jobs.max_attempts AS "maxAttempts",
            jobs.last_error AS "lastError", private.payload
       FROM graphile_worker.jobs AS jobs JOIN graphile_worker._private_jobs AS private ON private.id = jobs.id
      WHERE jobs.task_identifier = 'sync-pair' ORDER BY jobs.id`,
  );
  return rows;
}

/** Polls `condition` until it holds; generous deadline, no timing assertion. */
export async function waitFor(condition: () => Promise<boolean> | boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A pool with an idle-error handler (graphile-worker insists: an idle client's error would otherwise crash the process). */
export function testPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
