import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, describe, it } from 'vitest';
import { jobKeyForCrm, jobKeyForReferral } from '../../../src/store/job-keys.ts';
import { insertDeadLetter, resolveDeadLettersForPair } from '../../../src/store/postgres/dead-letters.ts';
import { addPairJob, enqueuePairJobs, lockPairKey, pendingPairJob } from '../../../src/store/postgres/job-enqueue.ts';
import { jobFromPayload, pairJobPayloadSchema, SYNC_PAIR_TASK } from '../../../src/store/postgres/job-payload.ts';
import { PostgresStore } from '../../../src/store/postgres/index.ts';
import { inTransaction } from '../../../src/store/postgres/pool.ts';
import type { SqlDatabase } from '../../../src/store/sqlite/driver.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { Job, JobRequest, Store } from '../../../src/store/types.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { makeTempDir } from '../../support/tmp.ts';
import { consoleCases } from './contract/console.ts';
import type { DeadLetterRow, PendingJob, StoreUnderTest } from './contract/harness.ts';
import { housekeepingCases } from './contract/housekeeping.ts';
import { inboxCases } from './contract/inbox.ts';
import { syncCases } from './contract/sync.ts';

/*
 * The store contract: every case runs against the SQLite store and the PostgreSQL store. The SQLite store's methods
 * are still synchronous on this branch (the async conversion is another branch's); `await` on a plain value works at
 * run time, so the SQLite store is cast to the asynchronous interfaces below.
 */
const CASES = [...inboxCases, ...syncCases, ...consoleCases, ...housekeepingCases];

const deadLetterInsert = (row: DeadLetterRow) =>
  [row.jobKey, row.failedAt, row.replayedAt ?? null, row.resolvedAt ?? null, row.resolvedBy ?? null] as const;

describe('store contract: sqlite', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  let n = 0;
  let opened: SqliteStore | undefined;
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
  });

  function open(): StoreUnderTest {
    const store = SqliteStore.open({ path: join(tmp.path, `contract-${++n}.db`), synchronous: 'normal' });
    opened = store;
    // The store's own connection, for what only its job runner does (read the queue, write old rows).
    const db = (store as unknown as { db: SqlDatabase }).db;
    const claimOne = async (request: JobRequest): Promise<Job> => {
      await store.jobs.enqueue([request]);
      // `await`: synchronous on this branch, a promise once the SQLite store is asynchronous (wip/async).
      const [job] = await store.jobs.claim(1, 60_000);
      if (!job) throw new Error('no job was claimed');
      return job;
    };
    return {
      driver: 'sqlite',
      store: store as unknown as Store,
      credentials: store.credentials as unknown as StoreUnderTest['credentials'],
      compactor: store.compactor,
      pendingJobs: () =>
        Promise.resolve(
          (db.prepare(`SELECT connection, referral_id, crm_entity, crm_id, cause, microsoft_side, attempts FROM jobs`).all() as Array<Record<string, unknown>>).map(
            (r): PendingJob => ({
              connection: r.connection as string,
              referralId: r.referral_id as string | null,
              crmEntity: r.crm_entity as string | null,
              crmId: r.crm_id as string | null,
              cause: r.cause as PendingJob['cause'],
              microsoftSide: r.microsoft_side === 1,
              attempts: r.attempts as number,
            }),
          ),
        ),
      failOnce: async (request, error) => store.jobs.retry(await claimOne(request), error, 3_600_000),
      deadLetter: async (request, error) => store.jobs.deadLetter(await claimOne(request), error),
      completeSynced: async (request) => store.jobs.complete(await claimOne(request)),
      async runJobs(request, sync) {
        await store.jobs.enqueue([request]);
        for (let [job] = await store.jobs.claim(1, 60_000); job; [job] = await store.jobs.claim(1, 60_000)) {
          await sync(job);
          await store.jobs.complete(job);
        }
      },
      insertDeadLetterRow: (row) => {
        db.prepare(
          `INSERT INTO dead_letters (job_key, connection, cause, attempts, error, failed_at, replayed_at, resolved_at, resolved_by) VALUES (?, 'dynamics', 'webhook', 10, 'rejected', ?, ?, ?, ?)`,
        ).run(...deadLetterInsert(row));
        return Promise.resolve();
      },
    };
  }

  for (const c of CASES) it(c.name, () => c.run(open()));
});

describe('store contract: postgres', () => {
  let database: TestDatabase | undefined;
  let opened: PostgresStore | undefined;
  afterEach(async () => {
    await opened?.close();
    opened = undefined;
    await database?.drop();
    database = undefined;
  });

  /** A fresh database per case: no case sees another's rows. */
  async function open(): Promise<StoreUnderTest> {
    database = await createTestDatabase('cosell_contract');
    const store = await PostgresStore.open({ url: database.url, pool: { max: 4 }, applicationName: 'cosell-contract-test' });
    opened = store;
    const pool: pg.Pool = store.pool;
    const keyOf = async (client: pg.ClientBase, request: JobRequest): Promise<string> => {
      if (request.referralId) return jobKeyForReferral(request.connection, request.referralId);
      const crm = request.crm!;
      const linked = await client.query<{ referral_id: string }>('SELECT referral_id FROM links WHERE connection = $1 AND crm_entity = $2 AND crm_id = $3', [request.connection, crm.entity, crm.id]);
      const referralId = linked.rows[0]?.referral_id;
      return referralId ? jobKeyForReferral(request.connection, referralId) : jobKeyForCrm(request.connection, crm.entity, crm.id);
    };
    /** What the job runner does with a job it took: here, take it out of the queue and hand it to `then`. */
    const takeJob = (request: JobRequest, then: (client: pg.ClientBase, job: Job) => Promise<void>) =>
      inTransaction(pool, async (client) => {
        await enqueuePairJobs(client, [request]);
        const key = await keyOf(client, request);
        const pending = await pendingPairJob(client, key);
        if (!pending) throw new Error(`no pending job for ${key}`);
        await client.query('SELECT graphile_worker.remove_job($1)', [key]);
        await then(client, jobFromPayload(key, pending.payload));
      });
    return {
      driver: 'postgres',
      store,
      credentials: store.credentials,
      compactor: store.compactor,
      async pendingJobs() {
        const { rows } = await pool.query<{ payload: unknown }>(
          `SELECT j.payload FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id WHERE t.identifier = $1`,
          [SYNC_PAIR_TASK],
        );
        return rows.map((r) => {
          const p = pairJobPayloadSchema.parse(r.payload);
          return { connection: p.connection, referralId: p.referralId, crmEntity: p.crmEntity, crmId: p.crmId, cause: p.cause, microsoftSide: p.microsoftSide, attempts: p.attempts };
        });
      },
      failOnce: (request, error) =>
        inTransaction(pool, async (client) => {
          await enqueuePairJobs(client, [request]);
          const key = await keyOf(client, request);
          await lockPairKey(client, key);
          const pending = await pendingPairJob(client, key);
          if (!pending) throw new Error(`no pending job for ${key}`);
          await addPairJob(client, key, { ...pending.payload, attempts: pending.payload.attempts + 1, lastError: error }, Date.now() + 3_600_000);
        }),
      deadLetter: (request, error) => takeJob(request, (client, job) => insertDeadLetter(client, job, error)),
      completeSynced: (request) => takeJob(request, (client, job) => resolveDeadLettersForPair(client, job)),
      async runJobs(request, sync) {
        await store.jobs.enqueue([request]);
        let running = 0;
        let failure: unknown;
        const runner = await store.jobs.run({
          concurrency: 1,
          logger: silentLogger(),
          pollIntervalMs: 50,
          handle: async (job) => {
            running++;
            try {
              await sync(job);
              return { kind: 'done' };
            } catch (error) {
              failure ??= error;
              throw error;
            } finally {
              running--;
            }
          },
        });
        try {
          // Done when no job is left and no run is applying its outcome.
          for (;;) {
            if (failure !== undefined) throw failure;
            const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker._private_jobs');
            if (Number(rows[0]?.n) === 0 && running === 0 && runner.inFlight === 0) break;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        } finally {
          await runner.stop();
        }
      },
      async insertDeadLetterRow(row) {
        await pool.query(
          `INSERT INTO dead_letters (job_key, connection, cause, attempts, error, failed_at, replayed_at, resolved_at, resolved_by) VALUES ($1, 'dynamics', 'webhook', 10, 'rejected', $2, $3, $4, $5)`,
          [...deadLetterInsert(row)],
        );
      },
    };
  }

  for (const c of CASES) it(c.name, async () => c.run(await open()));
});
