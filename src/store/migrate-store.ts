import { existsSync } from 'node:fs';
import pg from 'pg';
import { SYNC_PAIR_TASK, pairJobPayloadSchema } from './postgres/job-payload.ts';
import { addPairJob } from './postgres/job-enqueue.ts';
import { migrate } from './postgres/migrations.ts';
import { createPool, describeUrl, redactUrl, type Queryable } from './postgres/pool.ts';
import { openDatabase, type SqlDatabase, type SqlValue } from './sqlite/driver.ts';

/*
 * `cosell migrate-store`: moves an installation's SQLite store into PostgreSQL. The PostgreSQL schema has the same
 * tables and columns (src/store/postgres/migrations.ts), so this is a straight table-by-table copy; the one exception
 * is SQLite's `jobs` table, whose rows become graphile-worker `sync-pair` jobs. Everything is written in ONE
 * transaction: a failure anywhere leaves the target as empty as it was.
 */

/** Refused before anything was written: the target is not empty, or the source is missing or at another schema. */
export class MigrateStoreRefusedError extends Error {
  override readonly name = 'MigrateStoreRefusedError';
}

export interface TableProgress {
  table: string;
  copied: number;
  total: number;
}

export interface MigrateStoreOptions {
  sqlitePath: string;
  postgresUrl: string;
  /** Rows per INSERT (lowered for wide tables so one statement stays under PostgreSQL's 65535 parameters). */
  batchSize?: number;
  /** Called after each batch, and once per table when it is done (copied === total). */
  onProgress?: (progress: TableProgress) => void;
  /** graphile-worker's and the migrations' warnings. */
  log?: (level: string, message: string) => void;
}

export interface MigrateStoreResult {
  from: string;
  /** The target with its password masked. */
  to: string;
  /** Rows copied per table (SQLite's `jobs` under `jobs`, as graphile-worker jobs). */
  tables: Record<string, number>;
  /** Where each id sequence now starts (the next id it hands out). */
  sequences: Record<string, number>;
  durationMs: number;
}

/** SQLite's jobs: not a table in PostgreSQL, they become graphile-worker jobs. */
const JOBS_TABLE = 'jobs';
/**
 * PostgreSQL columns that hold what SQLite keeps as the implicit rowid (migration 2: a held conflict's id, the one
 * `cosell conflicts resolve <id>` names). They are filled from the rowid so that every id an operator saw stays valid.
 */
const ROWID_COLUMNS: Readonly<Record<string, string>> = { conflicts: 'id' };
const MAX_PARAMETERS = 60_000;

interface SqliteJobRow {
  key: string;
  connection: string;
  referral_id: string | null;
  crm_entity: string | null;
  crm_id: string | null;
  cause: string;
  attempts: number;
  next_run_at: number;
  last_error: string | null;
  updated_at: string;
  microsoft_side: number;
}

export async function migrateStore(options: MigrateStoreOptions): Promise<MigrateStoreResult> {
  const started = performance.now();
  if (!existsSync(options.sqlitePath)) throw new MigrateStoreRefusedError(`no SQLite store at ${options.sqlitePath}`);
  const source = openDatabase(options.sqlitePath, { readonly: true, fileMustExist: true });
  const pool = createPool({ url: options.postgresUrl, pool: { max: 2 }, applicationName: 'cosell-migrate-store' });
  // A checked-out client's connection error then rejects its query instead of being an unhandled 'error' event
  // (graphile-worker warns about pools without this handler).
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    source.exec('PRAGMA busy_timeout = 10000');
    const tables = sqliteTables(source);
    if (!tables.includes('links')) throw new MigrateStoreRefusedError(`${options.sqlitePath} is not a cosell-sync store (no links table)`);
    // Checked before migrating too, so a refused run leaves even an older schema as it found it.
    await refuseOccupied(pool, tables.filter((table) => table !== JOBS_TABLE));
    await migrate(pool, options.log);
    const client = await pool.connect();
    try {
      // One read transaction on the source: every table is read from the same snapshot, even if a service still writes.
      source.exec('BEGIN');
      await client.query('BEGIN');
      try {
        const result = await copyAll(source, client, tables, options);
        await client.query('COMMIT');
        return { from: options.sqlitePath, to: describeUrl(options.postgresUrl), ...result, durationMs: Math.round(performance.now() - started) };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        source.exec('COMMIT');
      }
    } finally {
      client.release();
    }
  } catch (error) {
    // A driver error may quote the connection string.
    if (error instanceof Error) error.message = redactUrl(error.message, options.postgresUrl);
    throw error;
  } finally {
    source.close();
    await pool.end();
  }
}

async function copyAll(
  source: SqlDatabase,
  client: pg.PoolClient,
  tables: readonly string[],
  options: MigrateStoreOptions,
): Promise<{ tables: Record<string, number>; sequences: Record<string, number> }> {
  const dataTables = tables.filter((table) => table !== JOBS_TABLE);
  const targetColumns = await postgresColumns(client);
  for (const table of dataTables) {
    const expected = targetColumnsOf(source, table);
    const actual = targetColumns.get(table);
    if (!actual || !sameSet(expected, actual)) {
      throw new MigrateStoreRefusedError(
        `table ${table} differs between the SQLite store (${expected.join(', ')}) and PostgreSQL (${actual?.join(', ') ?? 'missing'}): ` +
          'run this version of cosell once on the SQLite store (it migrates it), or use the matching version',
      );
    }
  }
  // Writers wait until we commit (and we fail rather than wait if one holds a table): "is it empty" stays true while
  // we copy, and a service started against the target too early cannot interleave its rows with ours.
  const lockList = dataTables.map((table) => pg.escapeIdentifier(table)).join(', ');
  await client.query("SET LOCAL lock_timeout = '10s'");
  await client.query(`LOCK TABLE ${lockList}, graphile_worker._private_jobs IN EXCLUSIVE MODE`);
  await refuseOccupied(client, dataTables);

  const counts: Record<string, number> = {};
  for (const table of dataTables) {
    try {
      counts[table] = await copyTable(source, client, table, sqliteColumns(source, table), rowidColumnOf(source, table), options);
    } catch (error) {
      if (error instanceof Error) error.message = `copying table ${table}: ${error.message}`;
      throw error;
    }
  }
  if (tables.includes(JOBS_TABLE)) counts[JOBS_TABLE] = await copyJobs(source, client, options);
  const sequences = await setSequences(source, client, dataTables);
  return { tables: counts, sequences };
}

/** Throws MigrateStoreRefusedError when any of `tables` (those that exist) or graphile-worker's jobs hold a row. */
async function refuseOccupied(client: Queryable, tables: readonly string[]): Promise<void> {
  const occupied: string[] = [];
  for (const table of [...tables.map((table) => pg.escapeIdentifier(table)), 'graphile_worker.jobs']) {
    const { rows: exists } = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [table]);
    if (exists[0]?.oid === null || exists[0]?.oid === undefined) continue;
    const { rows } = await client.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${table}) AS any`);
    if (rows[0]?.any) occupied.push(table);
  }
  if (occupied.length > 0) {
    throw new MigrateStoreRefusedError(`the target database already holds data (${occupied.join(', ')}); migrate-store only fills an empty one`);
  }
}

/** The column of `table` PostgreSQL fills from SQLite's rowid, when the SQLite table does not have it as a column. */
function rowidColumnOf(source: SqlDatabase, table: string): string | undefined {
  const column = ROWID_COLUMNS[table];
  return column !== undefined && !sqliteColumns(source, table).includes(column) ? column : undefined;
}

/** The columns `table` must have in PostgreSQL: SQLite's, plus the one filled from the rowid. */
function targetColumnsOf(source: SqlDatabase, table: string): string[] {
  const rowidColumn = rowidColumnOf(source, table);
  return [...sqliteColumns(source, table), ...(rowidColumn === undefined ? [] : [rowidColumn])];
}

async function copyTable(
  source: SqlDatabase,
  client: pg.PoolClient,
  table: string,
  sourceColumns: readonly string[],
  rowidColumn: string | undefined,
  options: MigrateStoreOptions,
): Promise<number> {
  const total = countRows(source, table);
  const columns = rowidColumn === undefined ? sourceColumns : [...sourceColumns, rowidColumn];
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 500, Math.floor(MAX_PARAMETERS / columns.length)));
  const columnList = sourceColumns.map(quoteSqlite).join(', ');
  const read = source.prepare<[number, number], Record<string, SqlValue>>(
    `SELECT rowid AS "__rowid", ${columnList} FROM ${quoteSqlite(table)} WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  );
  const insertHead = `INSERT INTO ${pg.escapeIdentifier(table)} (${columns.map((c) => pg.escapeIdentifier(c)).join(', ')}) VALUES `;
  let copied = 0;
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    // Keyset paging on rowid: each batch is an index seek, not an OFFSET scan.
    const rows = read.all(after, batchSize);
    if (rows.length === 0) break;
    const values: SqlValue[] = [];
    const tuples = rows.map((row, r) => {
      for (const column of sourceColumns) values.push(row[column] ?? null);
      if (rowidColumn !== undefined) values.push(row.__rowid ?? null);
      return `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`;
    });
    await client.query(insertHead + tuples.join(', '), values);
    copied += rows.length;
    after = Number(rows[rows.length - 1]?.__rowid);
    if (copied < total) options.onProgress?.({ table, copied, total });
  }
  options.onProgress?.({ table, copied, total: copied });
  return copied;
}

/**
 * SQLite's pending jobs as graphile-worker `sync-pair` jobs under the same key, keeping their attempts, last error and
 * due time (a pair backing off stays backed off). addPairJob rather than enqueuePairJobs: the latter files a new
 * request (attempts 0), which would forget a failing pair's history.
 */
async function copyJobs(source: SqlDatabase, client: pg.PoolClient, options: MigrateStoreOptions): Promise<number> {
  const rows = source
    .prepare<[], SqliteJobRow>(
      `SELECT key, connection, referral_id, crm_entity, crm_id, cause, attempts, next_run_at, last_error, updated_at, microsoft_side
         FROM jobs ORDER BY next_run_at, key`,
    )
    .all();
  let copied = 0;
  for (const row of rows) {
    const parsed = pairJobPayloadSchema.safeParse({
      connection: row.connection,
      referralId: row.referral_id,
      crmEntity: row.crm_entity,
      crmId: row.crm_id,
      cause: row.cause,
      microsoftSide: row.microsoft_side !== 0,
      attempts: row.attempts,
      lastError: row.last_error,
      enqueuedAt: Date.parse(row.updated_at),
    });
    if (!parsed.success) throw new Error(`job ${row.key} cannot become a ${SYNC_PAIR_TASK} job: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    await addPairJob(client, row.key, parsed.data, row.next_run_at);
    copied++;
    options.onProgress?.({ table: JOBS_TABLE, copied, total: rows.length });
  }
  if (rows.length === 0) options.onProgress?.({ table: JOBS_TABLE, copied: 0, total: 0 });
  return copied;
}

/**
 * Moves every id sequence past the copied ids, and past the highest id SQLite ever handed out (`sqlite_sequence`:
 * AUTOINCREMENT never reuses an id, even of a row retention deleted, and neither must PostgreSQL).
 */
async function setSequences(source: SqlDatabase, client: pg.PoolClient, tables: readonly string[]): Promise<Record<string, number>> {
  const { rows } = await client.query<{ table_name: string; column_name: string; sequence: string }>(
    `SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) AS sequence
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL`,
  );
  const hasSqliteSequence = source.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'sqlite_sequence'").get()?.n === 1;
  const result: Record<string, number> = {};
  for (const row of rows) {
    if (!tables.includes(row.table_name)) continue;
    // A column filled from the rowid (see ROWID_COLUMNS) continues after the highest rowid.
    const sourceColumn = rowidColumnOf(source, row.table_name) === row.column_name ? 'rowid' : quoteSqlite(row.column_name);
    const max = source.prepare<[], { max: number | null }>(`SELECT max(${sourceColumn}) AS max FROM ${quoteSqlite(row.table_name)}`).get()?.max ?? 0;
    const issued = hasSqliteSequence
      ? (source.prepare<[string], { seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?').get(row.table_name)?.seq ?? 0)
      : 0;
    const last = Math.max(max, issued);
    // setval(…, n, true): the next nextval() returns n + 1; an untouched sequence starts at 1.
    if (last > 0) await client.query('SELECT setval($1::regclass, $2::bigint, true)', [row.sequence, last]);
    else await client.query('SELECT setval($1::regclass, 1, false)', [row.sequence]);
    result[`${row.table_name}.${row.column_name}`] = last + 1;
  }
  return result;
}

function sqliteTables(db: SqlDatabase): string[] {
  return db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .all()
    .map((row) => row.name);
}

function sqliteColumns(db: SqlDatabase, table: string): string[] {
  return db
    .prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?) ORDER BY cid')
    .all(table)
    .map((row) => row.name);
}

async function postgresColumns(client: pg.PoolClient): Promise<Map<string, string[]>> {
  const { rows } = await client.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  );
  const columns = new Map<string, string[]>();
  for (const row of rows) columns.set(row.table_name, [...(columns.get(row.table_name) ?? []), row.column_name]);
  return columns;
}

function countRows(db: SqlDatabase, table: string): number {
  return db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${quoteSqlite(table)}`).get()?.n ?? 0;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

function quoteSqlite(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
