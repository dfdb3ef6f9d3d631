import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/cli/migrate-store.ts';
import { MigrateStoreRefusedError, migrateStore } from '../../../src/store/migrate-store.ts';
import { pendingPairJob } from '../../../src/store/postgres/job-enqueue.ts';
import { describeUrl } from '../../../src/store/postgres/pool.ts';
import { openDatabase } from '../../../src/store/sqlite/driver.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { makeTempDir } from '../../support/tmp.ts';

const REPO = resolve(import.meta.dirname, '../../..');
const TABLES = [
  'audit', 'conflicts', 'create_intents', 'credentials', 'dead_letters', 'deal_labels', 'inbox', 'links',
  'paused_pairs', 'pc_field_writes', 'watermarks', 'write_intents',
] as const;

/** A store with a row in every table, written through SqliteStore as the service would. */
async function fillStore(path: string): Promise<void> {
  const store = SqliteStore.open({ path, synchronous: 'normal' });
  const link = { connection: 'dyn', referralId: 'ref-1', crmEntity: 'opportunity', crmId: 'opp-1', base: { name: 'Contoso', amount: 5 }, pcEtag: 'e1', crmVersion: 'v1', syncState: 'ok' as const, lastError: null };
  for (const [i, resourceId] of ['ref-1', 'ref-2', 'ref-3'].entries()) {
    await store.inbox.append({ source: 'partner-center', dedupKey: `d${i}`, eventName: 'referral-updated', resourceId, payload: `{"n":${i},"text":"naïve ✓"}`, jobs: [{ connection: 'dyn', cause: 'event', referralId: resourceId }] });
  }
  await store.sync.recordIntents([{ connection: 'dyn', referralId: 'ref-9', crmEntity: 'opportunity', base: {}, toCrm: { name: 'x' }, toPc: {} }]);
  await store.sync.commit({
    link,
    audit: [{ connection: 'dyn', referralId: 'ref-1', crmEntity: 'opportunity', crmId: 'opp-1', direction: 'to-crm', field: 'name', oldValue: null, newValue: 'Contoso', cause: 'event', outcome: 'written', message: null }],
    holdConflicts: [{ field: 'amount', base: 1, pc: 2, crm: 3 }],
    releaseConflicts: [],
    pcFieldWrites: { name: { value: 'Contoso', changedAt: '2026-01-01T00:00:00.000Z' } },
  });
  await store.sync.createKey('dyn', 'opportunity', 'opp-7');
  await store.sync.labelDeal({ connection: 'dyn', referralId: 'ref-1', crmEntity: null, crmId: null, name: 'Contoso deal', customer: 'Contoso', respondBy: '2026-02-01T00:00:00.000Z' });
  await store.sync.pausePair('dyn', 'ref-1');
  await store.sync.setWatermark('salesforce:cdc', 'replay-42');
  await store.credentials.recordExchange('entra', '2026-01-02T00:00:00.000Z', { sealed: 'sealed-blob', origin: 'rotated' });
  // ref-2's job fails for good (a dead letter); ref-3's fails once and waits for its retry (a pending job with history).
  const jobs = await store.jobs.claim(10, 60_000);
  const ref2 = jobs.find((job) => job.referralId === 'ref-2')!;
  const ref3 = jobs.find((job) => job.referralId === 'ref-3')!;
  await store.jobs.deadLetter(ref2, 'rejected: 400');
  await store.jobs.retry(ref3, 'timeout', 3_600_000);
  await store.jobs.complete(jobs.find((job) => job.referralId === 'ref-1')!);
  await store.close();
}

function sqliteRows(path: string, table: string): unknown[] {
  const db = openDatabase(path, { readonly: true, fileMustExist: true });
  try {
    // A held conflict's id is SQLite's implicit rowid; PostgreSQL has it as the column `id` (its migration 2).
    const select = table === 'conflicts' ? 'SELECT rowid AS id, * FROM conflicts' : `SELECT * FROM ${table}`;
    return normalise(db.prepare(select).all() as Record<string, unknown>[]);
  } finally {
    db.close();
  }
}

async function postgresRows(client: pg.Client, table: string): Promise<unknown[]> {
  return normalise((await client.query<Record<string, unknown>>(`SELECT * FROM ${table}`)).rows);
}

/** BIGINT comes back from pg as a string: compare values as text, rows in a stable order. */
function normalise(rows: Record<string, unknown>[]): unknown[] {
  return rows
    .map((row) => Object.fromEntries(Object.entries(row).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v === null ? null : String(v)])))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

async function rowCounts(client: pg.Client): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) counts[table] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
  counts.jobs = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker.jobs')).rows[0]?.n);
  return counts;
}

async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('cosell migrate-store', () => {
  let database: TestDatabase;
  let client: pg.Client;
  let tmp: ReturnType<typeof makeTempDir>;
  let sqlitePath: string;

  beforeEach(async () => {
    database = await createTestDatabase('cosell_migrate');
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    tmp = makeTempDir('cosell-migrate-');
    sqlitePath = join(tmp.path, 'store.db');
    await fillStore(sqlitePath);
  });
  afterEach(async () => {
    await client.end();
    await database.drop();
    tmp.cleanup();
  });

  it('copies every table and the pending job, sets the sequences, and refuses a second run without changing anything', async () => {
    // An id retention deleted: PostgreSQL must not hand it out again.
    const raw = openDatabase(sqlitePath);
    raw.prepare('DELETE FROM inbox WHERE id = 3').run();
    // A conflict id an operator may have noted (`cosell conflicts resolve 7`) must name the same conflict afterwards.
    raw.prepare('UPDATE conflicts SET rowid = 7').run();
    raw.close();

    const first = await runCli(['migrate-store', '--from', `sqlite:${sqlitePath}`, '--to', 'postgres:env:TARGET_URL', '--json'], { TARGET_URL: database.url });
    expect(first.stderr).toContain('links: 1 rows');
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout) as { tables: Record<string, number>; sequences: Record<string, number>; to: string };
    expect(summary.tables).toEqual({ audit: 2, conflicts: 1, create_intents: 1, credentials: 1, dead_letters: 1, deal_labels: 1, inbox: 2, links: 1, paused_pairs: 1, pc_field_writes: 1, watermarks: 1, write_intents: 1, jobs: 1 });
    expect(summary.sequences['inbox.id']).toBe(4);
    expect(summary.sequences['conflicts.id']).toBe(8);
    expect(summary.to).toBe(describeUrl(database.url));
    const password = new URL(database.url).password;
    if (password) expect(first.stdout + first.stderr).not.toContain(password);

    for (const table of TABLES) expect(await postgresRows(client, table), table).toEqual(sqliteRows(sqlitePath, table));
    const job = await pendingPairJob(client, 'dyn:ref:ref-3');
    expect(job?.payload).toMatchObject({ connection: 'dyn', referralId: 'ref-3', cause: 'event', attempts: 1, lastError: 'timeout', microsoftSide: true });
    expect(job!.runAt).toBeGreaterThan(Date.now() + 3_000_000);
    const { rows } = await client.query<{ id: string }>(`INSERT INTO inbox (source, dedup_key, event_name, payload, received_at) VALUES ('dynamics', 'new', 'x', '{}', 'now') RETURNING id`);
    expect(rows[0]?.id).toBe('4');
    await client.query(`DELETE FROM inbox WHERE dedup_key = 'new'`);
    const conflict = await client.query<{ id: string }>(
      `INSERT INTO conflicts (connection, referral_id, field, base_value, pc_value, crm_value, detected_at) VALUES ('dyn', 'ref-9', 'amount', '1', '2', '3', 'now') RETURNING id`,
    );
    expect(conflict.rows[0]?.id).toBe('8');
    await client.query(`DELETE FROM conflicts WHERE referral_id = 'ref-9'`);

    const before = await rowCounts(client);
    const second = await runCli(['migrate-store', '--from', `sqlite:${sqlitePath}`, '--to', 'postgres:env:TARGET_URL'], { TARGET_URL: database.url });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/already holds data/);
    expect(await rowCounts(client)).toEqual(before);
  });

  it('leaves the target empty when the copy fails midway, and a later run succeeds', async () => {
    // PostgreSQL TEXT cannot hold a NUL byte: the copy fails at `watermarks`, after the tables before it were inserted.
    const raw = openDatabase(sqlitePath);
    raw.prepare("INSERT INTO watermarks (source, value, updated_at) VALUES ('broken', ?, 'now')").run('a\u0000b');
    raw.close();
    const progress: string[] = [];
    await expect(migrateStore({ sqlitePath, postgresUrl: database.url, onProgress: (p) => progress.push(p.table) })).rejects.toThrow(/copying table watermarks/);
    expect(progress).toContain('links');
    expect(Object.values(await rowCounts(client)).every((n) => n === 0)).toBe(true);

    const fixed = openDatabase(sqlitePath);
    fixed.prepare("DELETE FROM watermarks WHERE source = 'broken'").run();
    fixed.close();
    const result = await migrateStore({ sqlitePath, postgresUrl: database.url });
    expect(result.tables.links).toBe(1);
  });

  it('refuses a missing store before touching the target', async () => {
    await expect(migrateStore({ sqlitePath: join(tmp.path, 'none.db'), postgresUrl: database.url })).rejects.toThrow(MigrateStoreRefusedError);
    const { rows } = await client.query<{ oid: string | null }>("SELECT to_regclass('links')::text AS oid");
    expect(rows[0]?.oid).toBeNull();
  });
});

describe('migrate-store target', () => {
  it('takes a URL or a secret reference holding it, and never repeats it in an error', async () => {
    expect(await parseTarget('postgres://u:pw@h/db')).toBe('postgres://u:pw@h/db');
    expect(await parseTarget('postgres:postgresql://u:pw@h/db')).toBe('postgresql://u:pw@h/db');
    expect(await parseTarget('postgres:env:DB', { DB: 'postgres://u:pw@h/db\n' })).toBe('postgres://u:pw@h/db');
    await expect(parseTarget('postgres:env:DB', { DB: 'mysql://u:secret@h/db' })).rejects.toThrow(/^(?!.*secret).*not a postgres/);
    await expect(parseTarget('mysql://u:secret@h/db')).rejects.toThrow(/^(?!.*secret)/);
  });
});
