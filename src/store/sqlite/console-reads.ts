import { dealKey, dealSubject, type ConnectionCounts, type ConsoleReads, type DeadLetter, type DealLabel, type DealQuery, type DealState, type DealSummary, type ResponseDue } from '../types.ts';
import type { SqlDatabase } from './driver.ts';
import { DEAD_LETTER_COLUMNS } from './dead-letters.ts';

interface DealRow {
  connection: string;
  referral_id: string | null;
  crm_entity: string | null;
  crm_id: string | null;
  name: unknown;
  customer: unknown;
  status: unknown;
  microsoft_status: unknown;
  respond_by: string | null;
  state: DealState;
  paused: number;
  last_sync_at: string | null;
  last_error: string | null;
}

/*
 * Every deal a connection knows of: its links; the referrals that only a read (a label), a queued job, an open dead
 * letter or a held conflict names (not linked yet, or the link was never committed); and the CRM records with no
 * referral that a read, a job or an open dead letter names. The state is the worst thing about the deal.
 * Name and customer come from the deal's label (its last read), else from the sync base; status from the base.
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

const DEALS = `
  WITH pairs AS (
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
      COALESCE(lb.name, json_extract(p.base, '$.name')) AS name,
      COALESCE(lb.customer, json_extract(p.base, '$.companyName')) AS customer,
      json_extract(p.base, '$.status') AS status,
      json_extract(p.base, '$.microsoftStatus') AS microsoft_status,
      lb.respond_by,
      COALESCE(p.updated_at, lb.updated_at) AS last_sync_at,
      p.last_error,
      CASE WHEN p.referral_id IS NULL THEN ${CRM_STATE} ELSE ${PAIR_STATE} END AS state,
      EXISTS (SELECT 1 FROM paused_pairs z WHERE z.connection = p.connection AND z.referral_id = p.referral_id) AS paused
    FROM pairs p
    LEFT JOIN deal_labels lb ON lb.connection = p.connection
      AND lb.subject = COALESCE(p.referral_id, 'crm:' || p.crm_entity || ':' || p.crm_id)
  )`;

const NAME_BATCH = 200;

/** `%…%` for LIKE, with the user's own % _ and \ taken literally. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

function toDeal(r: DealRow): DealSummary {
  return {
    connection: r.connection,
    referralId: r.referral_id,
    crmEntity: r.crm_entity,
    crmId: r.crm_id,
    name: textOrNull(r.name),
    customer: textOrNull(r.customer),
    respondBy: r.respond_by,
    status: textOrNull(r.status),
    microsoftStatus: textOrNull(r.microsoft_status),
    state: r.state,
    paused: r.paused === 1,
    lastSyncAt: r.last_sync_at,
    lastError: r.last_error,
  };
}

export class SqliteConsoleReads implements ConsoleReads {
  constructor(private readonly db: SqlDatabase) {}

  async deals(query: DealQuery): Promise<{ total: number; deals: DealSummary[] }> {
    // One read transaction (synchronous inside): the total and the page's rows come from the same snapshot.
    return this.db.transaction(() => this.dealsIn(query))();
  }

  private dealsIn(query: DealQuery): { total: number; deals: DealSummary[] } {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.search) {
      where.push(`(name LIKE ? ESCAPE '\\' OR customer LIKE ? ESCAPE '\\' OR referral_id LIKE ? ESCAPE '\\' OR crm_id LIKE ? ESCAPE '\\')`);
      const pattern = containing(query.search);
      params.push(pattern, pattern, pattern, pattern);
    }
    if (query.connection) {
      where.push('connection = ?');
      params.push(query.connection);
    }
    if (query.state) {
      where.push('state = ?');
      params.push(query.state);
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`${DEALS} SELECT COUNT(*) AS n FROM deals ${filter}`).get(...params) as { n: number }).n;
    // The page's keys first, then each row in full: sorting only keys keeps the per-row JSON and state work to a page.
    const keys = this.db
      .prepare(`${DEALS} SELECT connection, referral_id, crm_entity, crm_id FROM deals ${filter} ORDER BY last_sync_at IS NULL, last_sync_at DESC, connection, referral_id, crm_id LIMIT ? OFFSET ?`)
      .all(...params, query.limit, query.offset) as Array<{ connection: string; referral_id: string | null; crm_entity: string | null; crm_id: string | null }>;
    const deals = keys
      .map((k) => (k.referral_id !== null ? this.dealNow(k.connection, k.referral_id) : this.crmDealNow(k.connection, k.crm_entity ?? '', k.crm_id ?? '')))
      .filter((d): d is DealSummary => d !== null);
    return { total, deals };
  }

  async deal(connection: string, referralId: string): Promise<DealSummary | null> {
    return this.dealNow(connection, referralId);
  }

  async crmDeal(connection: string, crmEntity: string, crmId: string): Promise<DealSummary | null> {
    return this.crmDealNow(connection, crmEntity, crmId);
  }

  /** Synchronous, so `dealsIn` reads every row of a page inside its one transaction. */
  private dealNow(connection: string, referralId: string): DealSummary | null {
    const row = this.db.prepare(`${DEALS} SELECT * FROM deals WHERE connection = ? AND referral_id = ?`).get(connection, referralId) as DealRow | undefined;
    return row ? toDeal(row) : null;
  }

  private crmDealNow(connection: string, crmEntity: string, crmId: string): DealSummary | null {
    const row = this.db
      .prepare(`${DEALS} SELECT * FROM deals WHERE connection = ? AND referral_id IS NULL AND crm_entity = ? AND crm_id = ?`)
      .get(connection, crmEntity, crmId) as DealRow | undefined;
    return row ? toDeal(row) : null;
  }

  async connectionCounts(): Promise<Record<string, ConnectionCounts>> {
    const counts: Record<string, ConnectionCounts> = {};
    const of = (connection: string): ConnectionCounts =>
      (counts[connection] ??= { synced: 0, needingAttention: 0, inConflict: 0, deadLettered: 0, retrying: 0, paused: 0, lastJobError: null });
    const links = this.db
      .prepare(`SELECT connection, SUM(sync_state = 'ok') AS ok, SUM(sync_state = 'error') AS error FROM links GROUP BY connection`)
      .all() as Array<{ connection: string; ok: number; error: number }>;
    for (const r of links) Object.assign(of(r.connection), { synced: r.ok, needingAttention: r.error });
    const conflicts = this.db.prepare('SELECT connection, COUNT(DISTINCT referral_id) AS n FROM conflicts GROUP BY connection').all() as Array<{ connection: string; n: number }>;
    for (const r of conflicts) of(r.connection).inConflict = r.n;
    const dead = this.db.prepare('SELECT connection, COUNT(*) AS n FROM dead_letters WHERE resolved_at IS NULL GROUP BY connection').all() as Array<{ connection: string; n: number }>;
    for (const r of dead) of(r.connection).deadLettered = r.n;
    const retrying = this.db.prepare('SELECT connection, COUNT(*) AS n FROM jobs WHERE attempts > 0 GROUP BY connection').all() as Array<{ connection: string; n: number }>;
    for (const r of retrying) of(r.connection).retrying = r.n;
    const paused = this.db.prepare('SELECT connection, COUNT(DISTINCT referral_id) AS n FROM paused_pairs GROUP BY connection').all() as Array<{ connection: string; n: number }>;
    for (const r of paused) of(r.connection).paused = r.n;
    // SQLite's bare-column rule: with MAX(), the other columns come from the row that holds the maximum.
    const errors = this.db
      .prepare('SELECT connection, last_error, MAX(updated_at) AS at FROM jobs WHERE last_error IS NOT NULL GROUP BY connection')
      .all() as Array<{ connection: string; last_error: string; at: string }>;
    for (const r of errors) of(r.connection).lastJobError = { message: r.last_error, at: r.at };
    return counts;
  }

  async pairDeadLetters(connection: string, referralId: string, limit: number): Promise<DeadLetter[]> {
    return this.db
      .prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE connection = ? AND referral_id = ? ORDER BY id DESC LIMIT ?`)
      .all(connection, referralId, limit) as DeadLetter[];
  }

  async crmDeadLetters(connection: string, crmEntity: string, crmId: string, limit: number): Promise<DeadLetter[]> {
    return this.db
      .prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE connection = ? AND referral_id IS NULL AND crm_entity = ? AND crm_id = ? ORDER BY id DESC LIMIT ?`)
      .all(connection, crmEntity, crmId, limit) as DeadLetter[];
  }

  async dealNames(deals: ReadonlyArray<Pick<DealLabel, 'connection' | 'referralId' | 'crmEntity' | 'crmId'>>): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    const keys = [...new Map(deals.map((d) => [dealKey(d), [d.connection, dealSubject(d)] as const])).values()];
    // Bounded batches: SQLite's default limit on bound parameters is 32,766; a console page asks for a few hundred.
    for (let i = 0; i < keys.length; i += NAME_BATCH) {
      const batch = keys.slice(i, i + NAME_BATCH);
      const values = batch.map(() => '(?, ?)').join(', ');
      const rows = this.db
        .prepare(
          `WITH wanted(connection, subject) AS (VALUES ${values})
           SELECT w.connection, w.subject, COALESCE(lb.name, json_extract(l.base, '$.name')) AS name FROM wanted w
           LEFT JOIN deal_labels lb ON lb.connection = w.connection AND lb.subject = w.subject
           LEFT JOIN links l ON l.connection = w.connection AND l.referral_id = w.subject`,
        )
        .all(...batch.flat()) as Array<{ connection: string; subject: string; name: unknown }>;
      for (const r of rows) if (r.name !== null && r.name !== undefined) names.set(dealKey({ connection: r.connection, referralId: r.subject, crmEntity: null, crmId: null }), String(r.name));
    }
    return names;
  }

  async responsesDue(until: string): Promise<ResponseDue[]> {
    // One row per referral: with several CRM connections each holds a label of it.
    return this.db
      .prepare(
        `SELECT MIN(connection) AS connection, referral_id AS referralId, MAX(name) AS name, MAX(customer) AS customer, MIN(respond_by) AS respondBy
         FROM deal_labels WHERE referral_id IS NOT NULL AND respond_by IS NOT NULL AND respond_by <= ? AND deadline_alerted_at IS NULL
         GROUP BY referral_id ORDER BY respondBy`,
      )
      .all(until) as ResponseDue[];
  }

  async markResponseAlerted(referralId: string): Promise<void> {
    this.db.prepare('UPDATE deal_labels SET deadline_alerted_at = ? WHERE referral_id = ?').run(new Date().toISOString(), referralId);
  }
}
