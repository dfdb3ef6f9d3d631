import type pg from 'pg';
import { jobKeyForCrm, jobKeyForReferral } from '../job-keys.ts';
import type { JobRequest } from '../types.ts';
import { SYNC_PAIR_TASK, pairJobPayloadSchema, type PairJobPayload } from './job-payload.ts';

/**
 * How many times graphile-worker retries a job whose handler THREW (a bug or an outage below our error handling),
 * with its own exponential backoff (exp(attempt) seconds: about 9 hours in all for 10). Expected failures never count
 * here: the runner reschedules them itself with our delays (see job-queue.ts).
 */
export const UNEXPECTED_FAILURE_ATTEMPTS = 10;

/** A pending (not running, not permanently failed) `sync-pair` job of a key. */
export interface PendingPairJob {
  payload: PairJobPayload;
  /** Epoch ms. */
  runAt: number;
}

/**
 * Files `requests` in the caller's transaction: the jobs commit (and become visible to workers) with it, or not at all.
 * A CRM request for a linked record is filed under its referral, so one pair never runs under two keys. A request for
 * a key with a pending job coalesces into it: microsoftSide is ORed and its attempts and last error are kept (new
 * events do not wipe a failing pair's history); the job runs now.
 *
 * A key whose job is RUNNING gets a second job (graphile-worker clears the running job's key, see add_jobs in its
 * sql/000018.sql): the new events may carry changes that run did not see.
 */
export async function enqueuePairJobs(client: pg.ClientBase, requests: readonly JobRequest[], now = Date.now()): Promise<void> {
  const byKey = new Map<string, PairJobPayload>();
  for (const request of requests) {
    const payload = await payloadFor(client, request, now);
    const key = payload.referralId !== null ? jobKeyForReferral(payload.connection, payload.referralId) : jobKeyForCrm(payload.connection, payload.crmEntity ?? '', payload.crmId ?? '');
    const earlier = byKey.get(key);
    byKey.set(key, earlier ? mergeInto(earlier, payload) : payload);
  }
  // Keys locked in one order, so two transactions enqueueing the same keys cannot deadlock on the advisory locks.
  for (const key of [...byKey.keys()].sort()) {
    let payload = byKey.get(key) as PairJobPayload;
    await lockPairKey(client, key);
    const pending = await pendingPairJob(client, key);
    if (pending) {
      payload = { ...mergeInto(pending.payload, payload), attempts: pending.payload.attempts, lastError: pending.payload.lastError };
    }
    await addPairJob(client, key, payload, null);
  }
}

/**
 * Serialises, until the transaction ends, everyone who reads a key's pending job and then replaces it (enqueue and
 * the runner's reschedule): without it two concurrent enqueues could both read microsoftSide false and the second
 * add_job would drop the first one's true.
 */
export async function lockPairKey(client: pg.ClientBase, key: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}

/**
 * The pending job of a key, if any. Reads graphile-worker's private table: its public view `graphile_worker.jobs`
 * (sql/000017.sql) has no payload column. Relies on the 0.17 schema (`_private_jobs` with the generated column
 * `is_available` = not locked and attempts < max_attempts; `_private_tasks`), checked against 0.17.3.
 */
export async function pendingPairJob(client: pg.ClientBase, key: string): Promise<PendingPairJob | null> {
  const { rows } = await client.query<{ payload: unknown; run_at_ms: string }>(
    `SELECT jobs.payload, (extract(epoch FROM jobs.run_at) * 1000)::bigint AS run_at_ms
       FROM graphile_worker._private_jobs AS jobs
       JOIN graphile_worker._private_tasks AS tasks ON tasks.id = jobs.task_id
      WHERE jobs.key = $1 AND jobs.is_available AND tasks.identifier = $2`,
    [key, SYNC_PAIR_TASK],
  );
  const row = rows[0];
  if (!row) return null;
  const parsed = pairJobPayloadSchema.safeParse(row.payload);
  // A payload we cannot read (another version's) is replaced rather than merged: the new request still runs the pair.
  return parsed.success ? { payload: parsed.data, runAt: Number(row.run_at_ms) } : null;
}

/**
 * Adds (or replaces, by job key) the job of `key`, queued under the key itself so graphile-worker runs one job of a
 * pair at a time across all instances. `runAt` null: now (the database's clock).
 */
export async function addPairJob(client: pg.ClientBase, key: string, payload: PairJobPayload, runAt: number | null): Promise<void> {
  await client.query(
    `SELECT graphile_worker.add_job(
       identifier => $1, payload => $2::json, queue_name => $3, run_at => $4::timestamptz,
       max_attempts => $5::int, job_key => $3, job_key_mode => 'replace')`,
    [SYNC_PAIR_TASK, JSON.stringify(payload), key, runAt === null ? null : new Date(runAt).toISOString(), UNEXPECTED_FAILURE_ATTEMPTS],
  );
}

async function payloadFor(client: pg.ClientBase, request: JobRequest, now: number): Promise<PairJobPayload> {
  let referralId = request.referralId ?? null;
  const crm = request.crm;
  if (referralId === null && crm) {
    const { rows } = await client.query<{ referral_id: string }>(
      'SELECT referral_id FROM links WHERE connection = $1 AND crm_entity = $2 AND crm_id = $3',
      [request.connection, crm.entity, crm.id],
    );
    referralId = rows[0]?.referral_id ?? null;
  }
  if (referralId === null && !crm) throw new Error('a job request needs a referral id or a CRM record');
  return {
    connection: request.connection,
    referralId,
    crmEntity: crm?.entity ?? null,
    crmId: crm?.id ?? null,
    cause: request.cause,
    microsoftSide: request.microsoftSide !== false,
    attempts: 0,
    lastError: null,
    enqueuedAt: now,
  };
}

/**
 * `later` coalesced into `earlier`, as the SQLite queue's upsert does: the first cause and known ids stay, the
 * Microsoft side is read when either asked for it, and the newer enqueue time counts.
 */
function mergeInto(earlier: PairJobPayload, later: PairJobPayload): PairJobPayload {
  return {
    ...earlier,
    referralId: earlier.referralId ?? later.referralId,
    crmEntity: earlier.crmEntity ?? later.crmEntity,
    crmId: earlier.crmId ?? later.crmId,
    microsoftSide: earlier.microsoftSide || later.microsoftSide,
    attempts: Math.max(earlier.attempts, later.attempts),
    lastError: later.lastError ?? earlier.lastError,
    enqueuedAt: Math.max(earlier.enqueuedAt, later.enqueuedAt),
  };
}
