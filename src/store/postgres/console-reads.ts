import type pg from 'pg';
import { dealKey, dealSubject, type ConnectionCounts, type ConsoleReads, type DeadLetter, type DealLabel, type DealQuery, type DealState, type DealSummary, type ResponseDue } from '../types.ts';
import { DEAD_LETTER_COLUMNS } from './dead-letters.ts';
import { SYNC_PAIR_TASK } from './job-payload.ts';
import type { Queryable } from './pool.ts';

interface DealRow {
  connection: string;
  referral_id: string | null;
  crm_entity: string | null;
  crm_id: string | null;
  name: string | null;
  customer: string | null;
  status: string | null;
  microsoft_status: string | null;
  respond_by: string | null;
  state: DealState;
  paused: boolean;
  last_sync_at: string | null;
  last_error: string | null;
}

/*
 * The SQLite store's `jobs` table, as the console reads it, built from graphile-worker's jobs (graphile-worker 0.17.3:
 * the public view `graphile_worker.jobs` of sql/000017.sql, with id, queue_name, task_identifier, run_at, attempts,
 * last_error, created_at, updated_at, key, locked_at, ...). The view has no payload column, so the payload (the
 * `sync-pair` fields of job-payload.ts: connection, referralId, crmEntity, crmId, attempts, lastError) is read from
 * `_private_jobs` by id. Our attempts and last error are the payload's: graphile-worker's own count a fetch as an
 * attempt and are reset when a job key is replaced. updated_at is rendered as the ISO text the SQLite store holds.
 */
const JOBS = `
  jobs AS (
    SELECT pj.payload->>'connection' AS connection, pj.payload->>'referralId' AS referral_id, pj.payload->>'crmEntity' AS crm_entity,
      pj.payload->>'crmId' AS crm_id, COALESCE((pj.payload->>'attempts')::int, 0) AS attempts, pj.payload->>'lastError' AS last_error,
      to_char(v.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at
    FROM graphile_worker.jobs v
    JOIN graphile_worker._private_jobs pj ON pj.id = v.id
    -- A row out of attempts will never run again (see job-liveness.ts, which deletes such rows): it is not work.
    WHERE v.task_identifier = '${SYNC_PAIR_TASK}' AND (v.locked_at IS NOT NULL OR v.attempts < v.max_attempts)
  )`;

/*
 * Every deal a connection knows of: its links; the referrals that only a read (a label), a queued job, an open dead
 * letter or a held conflict names (not linked yet, or the link was never committed); and the CRM records with no
 * referral that a read, a job or an open dead letter names. The state is the worst thing about the deal.
 * Name and customer come from the deal's label (its last read), else from the sync base; status from the base.
 * (The SQL of the SQLite store's console-reads.ts, ported.)
 */
const PAIR_STATE = `
      CASE
        WHEN EXISTS (SELECT 1 FROM dead_letters d WHERE d.connection = p.connection AND d.referral_id = p.referral_id AND d.resolved_at IS NULL) THEN 'dead-letter'
        WHEN EXISTS (SELECT 1 FROM conflicts c WHERE c.connection = p.connection AND c.referral_id = p.referral_id) THEN 'conflict'
        WHEN p.sync_state = 'error' THEN 'error'
        WHEN EXISTS (SELECT 1 FROM paused_pairs z WHERE z.connection = p.connection AND z.referral_id = p.referral_id) THEN 'paused'
        WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.connection = p.connection AND j.referral_id = p.referral_id AND j.attempts > 0) THEN 'retrying'
        WHEN p.sync_state IS NULL THEN 'unlinked'
        ELSE 'ok'
      END`;

/** A CRM record with no referral: its newest audit line says whether our last attempt to send it failed. */
const CRM_STATE = `
      CASE
        WHEN EXISTS (SELECT 1 FROM dead_letters d WHERE d.connection = p.connection AND d.referral_id IS NULL AND d.crm_entity = p.crm_entity AND d.crm_id = p.crm_id AND d.resolved_at IS NULL) THEN 'dead-letter'
        WHEN (SELECT a.outcome FROM audit a WHERE a.connection = p.connection AND a.crm_entity = p.crm_entity AND a.crm_id = p.crm_id ORDER BY a.id DESC LIMIT 1) = 'failed' THEN 'error'
        WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.connection = p.connection AND j.referral_id IS NULL AND j.crm_entity = p.crm_entity AND j.crm_id = p.crm_id AND j.attempts > 0) THEN 'retrying'
        ELSE 'unlinked'
      END`;

/** A top-level member of the sync base as text (SQLite's json_extract; objects and arrays as their JSON). */
const baseField = (field: string) => `(p.base::jsonb ->> '${field}')`;

const DEALS = `
  WITH ${JOBS},
  pairs AS (
    SELECT connection, referral_id, crm_entity, crm_id, base, sync_state, last_error, updated_at FROM links
    UNION ALL
    SELECT k.connection, k.referral_id, NULL, NULL, NULL, NULL, NULL, NULL FROM (
      SELECT connection, referral_id FROM jobs WHERE referral_id IS NOT NULL
      UNION SELECT connection, referral_id FROM dead_letters WHERE referral_id IS NOT NULL AND resolved_at IS NULL
      UNION SELECT connection, referral_id FROM conflicts
      UNION SELECT connection, referral_id FROM deal_labels WHERE referral_id IS NOT NULL
    ) k
    WHERE NOT EXISTS (SELECT 1 FROM links l WHERE l.connection = k.connection AND l.referral_id = k.referral_id)
    UNION ALL
    SELECT r.connection, NULL, r.crm_entity, r.crm_id, NULL, NULL, NULL, NULL FROM (
      SELECT connection, crm_entity, crm_id FROM jobs WHERE referral_id IS NULL AND crm_id IS NOT NULL
      UNION SELECT connection, crm_entity, crm_id FROM dead_letters WHERE referral_id IS NULL AND crm_id IS NOT NULL AND resolved_at IS NULL
      UNION SELECT connection, crm_entity, crm_id FROM deal_labels WHERE referral_id IS NULL
    ) r
    WHERE NOT EXISTS (SELECT 1 FROM links l WHERE l.connection = r.connection AND l.crm_entity = r.crm_entity AND l.crm_id = r.crm_id)
  ),
  deals AS (
    SELECT p.connection, p.referral_id, p.crm_entity, p.crm_id,
      COALESCE(lb.name, ${baseField('name')}) AS name,
      COALESCE(lb.customer, ${baseField('companyName')}) AS customer,
      ${baseField('status')} AS status,
      ${baseField('microsoftStatus')} AS microsoft_status,
      lb.respond_by,
      COALESCE(p.updated_at, lb.updated_at) AS last_sync_at,
      p.last_error,
      CASE WHEN p.referral_id IS NULL THEN ${CRM_STATE} ELSE ${PAIR_STATE} END AS state,
      EXISTS (SELECT 1 FROM paused_pairs z WHERE z.connection = p.connection AND z.referral_id = p.referral_id) AS paused
    FROM pairs p
    LEFT JOIN deal_labels lb ON lb.connection = p.connection
      AND lb.subject = COALESCE(p.referral_id, 'crm:' || p.crm_entity || ':' || p.crm_id)
  )`;

/** `%…%` for ILIKE (SQLite's LIKE ignores ASCII case), with the user's own % _ and \ taken literally. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function toDeal(r: DealRow): DealSummary {
  return {
    connection: r.connection,
    referralId: r.referral_id,
    crmEntity: r.crm_entity,
    crmId: r.crm_id,
    name: r.name,
    customer: r.customer,
    respondBy: r.respond_by,
    status: r.status,
    microsoftStatus: r.microsoft_status,
    state: r.state,
    paused: r.paused,
    lastSyncAt: r.last_sync_at,
    lastError: r.last_error,
  };
}

type Counted = { connection: string; n: number };

export class PostgresConsoleReads implements ConsoleReads {
  constructor(private readonly pool: pg.Pool) {}

  async deals(query: DealQuery): Promise<{ total: number; deals: DealSummary[] }> {
    // One read-only snapshot: the total and the page's rows agree.
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await this.dealsIn(client, query);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async dealsIn(db: Queryable, query: DealQuery): Promise<{ total: number; deals: DealSummary[] }> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.search) {
      params.push(containing(query.search));
      const n = params.length;
      where.push(`(name ILIKE $${n} ESCAPE '\\' OR customer ILIKE $${n} ESCAPE '\\' OR referral_id ILIKE $${n} ESCAPE '\\' OR crm_id ILIKE $${n} ESCAPE '\\')`);
    }
    if (query.connection) {
      params.push(query.connection);
      where.push(`connection = $${params.length}`);
    }
    if (query.state) {
      params.push(query.state);
      where.push(`state = $${params.length}`);
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (await db.query<{ n: number }>(`${DEALS} SELECT COUNT(*)::int AS n FROM deals ${filter}`, params)).rows[0]?.n ?? 0;
    // The page's keys first, then each row in full: sorting only keys keeps the per-row JSON and state work to a page.
    // NULLS FIRST and the C collation keep SQLite's order (NULL lowest, byte-wise text).
    const keys = (
      await db.query<{ connection: string; referral_id: string | null; crm_entity: string | null; crm_id: string | null }>(
        `${DEALS} SELECT connection, referral_id, crm_entity, crm_id FROM deals ${filter}
         ORDER BY last_sync_at IS NULL, last_sync_at COLLATE "C" DESC, connection COLLATE "C", referral_id COLLATE "C" NULLS FIRST, crm_id COLLATE "C" NULLS FIRST
         LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, query.limit, query.offset],
      )
    ).rows;
    const deals: DealSummary[] = [];
    for (const k of keys) {
      const deal = k.referral_id !== null ? await this.dealIn(db, k.connection, k.referral_id) : await this.crmDealIn(db, k.connection, k.crm_entity ?? '', k.crm_id ?? '');
      if (deal) deals.push(deal);
    }
    return { total, deals };
  }

  deal(connection: string, referralId: string): Promise<DealSummary | null> {
    return this.dealIn(this.pool, connection, referralId);
  }

  private async dealIn(db: Queryable, connection: string, referralId: string): Promise<DealSummary | null> {
    const row = (await db.query<DealRow>(`${DEALS} SELECT * FROM deals WHERE connection = $1 AND referral_id = $2`, [connection, referralId])).rows[0];
    return row ? toDeal(row) : null;
  }

  crmDeal(connection: string, crmEntity: string, crmId: string): Promise<DealSummary | null> {
    return this.crmDealIn(this.pool, connection, crmEntity, crmId);
  }

  private async crmDealIn(db: Queryable, connection: string, crmEntity: string, crmId: string): Promise<DealSummary | null> {
    const row = (
      await db.query<DealRow>(`${DEALS} SELECT * FROM deals WHERE connection = $1 AND referral_id IS NULL AND crm_entity = $2 AND crm_id = $3`, [connection, crmEntity, crmId])
    ).rows[0];
    return row ? toDeal(row) : null;
  }

  async connectionCounts(): Promise<Record<string, ConnectionCounts>> {
    const counts: Record<string, ConnectionCounts> = {};
    const of = (connection: string): ConnectionCounts =>
      (counts[connection] ??= { synced: 0, needingAttention: 0, inConflict: 0, deadLettered: 0, retrying: 0, paused: 0, lastJobError: null });
    const links = await this.pool.query<{ connection: string; ok: number; error: number }>(
      `SELECT connection, (COUNT(*) FILTER (WHERE sync_state = 'ok'))::int AS ok, (COUNT(*) FILTER (WHERE sync_state = 'error'))::int AS error FROM links GROUP BY connection`,
    );
    for (const r of links.rows) Object.assign(of(r.connection), { synced: r.ok, needingAttention: r.error });
    const conflicts = await this.pool.query<Counted>('SELECT connection, COUNT(DISTINCT referral_id)::int AS n FROM conflicts GROUP BY connection');
    for (const r of conflicts.rows) of(r.connection).inConflict = r.n;
    const dead = await this.pool.query<Counted>('SELECT connection, COUNT(*)::int AS n FROM dead_letters WHERE resolved_at IS NULL GROUP BY connection');
    for (const r of dead.rows) of(r.connection).deadLettered = r.n;
    const retrying = await this.pool.query<Counted>(`WITH ${JOBS} SELECT connection, COUNT(*)::int AS n FROM jobs WHERE attempts > 0 GROUP BY connection`);
    for (const r of retrying.rows) of(r.connection).retrying = r.n;
    const paused = await this.pool.query<Counted>('SELECT connection, COUNT(DISTINCT referral_id)::int AS n FROM paused_pairs GROUP BY connection');
    for (const r of paused.rows) of(r.connection).paused = r.n;
    // Per connection, the error of its most recently updated failing job (SQLite: MAX() with a bare column).
    const errors = await this.pool.query<{ connection: string; last_error: string; at: string }>(
      `WITH ${JOBS} SELECT DISTINCT ON (connection) connection, last_error, updated_at AS at FROM jobs WHERE last_error IS NOT NULL ORDER BY connection, updated_at DESC`,
    );
    for (const r of errors.rows) of(r.connection).lastJobError = { message: r.last_error, at: r.at };
    return counts;
  }

  async pairDeadLetters(connection: string, referralId: string, limit: number): Promise<DeadLetter[]> {
    const { rows } = await this.pool.query<DeadLetter>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE connection = $1 AND referral_id = $2 ORDER BY id DESC LIMIT $3`,
      [connection, referralId, limit],
    );
    return rows;
  }

  async crmDeadLetters(connection: string, crmEntity: string, crmId: string, limit: number): Promise<DeadLetter[]> {
    const { rows } = await this.pool.query<DeadLetter>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE connection = $1 AND referral_id IS NULL AND crm_entity = $2 AND crm_id = $3 ORDER BY id DESC LIMIT $4`,
      [connection, crmEntity, crmId, limit],
    );
    return rows;
  }

  async dealNames(deals: ReadonlyArray<Pick<DealLabel, 'connection' | 'referralId' | 'crmEntity' | 'crmId'>>): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    const keys = [...new Map(deals.map((d) => [dealKey(d), [d.connection, dealSubject(d)] as const])).values()];
    if (keys.length === 0) return names;
    // Two arrays unnested side by side: one statement however many deals, no limit on bound parameters to mind.
    const { rows } = await this.pool.query<{ connection: string; subject: string; name: string | null }>(
      `SELECT w.connection, w.subject, COALESCE(lb.name, l.base::jsonb ->> 'name') AS name
         FROM unnest($1::text[], $2::text[]) AS w(connection, subject)
         LEFT JOIN deal_labels lb ON lb.connection = w.connection AND lb.subject = w.subject
         LEFT JOIN links l ON l.connection = w.connection AND l.referral_id = w.subject`,
      [keys.map((k) => k[0]), keys.map((k) => k[1])],
    );
    for (const r of rows) if (r.name !== null) names.set(dealKey({ connection: r.connection, referralId: r.subject, crmEntity: null, crmId: null }), r.name);
    return names;
  }

  async responsesDue(until: string): Promise<ResponseDue[]> {
    // One row per referral: with several CRM connections each holds a label of it.
    const { rows } = await this.pool.query<ResponseDue>(
      `SELECT MIN(connection COLLATE "C") AS connection, referral_id AS "referralId", MAX(name COLLATE "C") AS name, MAX(customer COLLATE "C") AS customer,
              MIN(respond_by COLLATE "C") AS "respondBy"
         FROM deal_labels WHERE referral_id IS NOT NULL AND respond_by IS NOT NULL AND respond_by COLLATE "C" <= $1 AND deadline_alerted_at IS NULL
         GROUP BY referral_id ORDER BY "respondBy"`,
      [until],
    );
    return rows;
  }

  async markResponseAlerted(referralId: string): Promise<void> {
    await this.pool.query('UPDATE deal_labels SET deadline_alerted_at = $1 WHERE referral_id = $2', [new Date().toISOString(), referralId]);
  }
}
