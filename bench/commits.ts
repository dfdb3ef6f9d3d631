/**
 * Store commits per pair sync, and what they cost in wall time.
 *
 *   npm run bench:commits [-- --pairs 200 --runs 3 --store sqlite|postgres|both --synchronous full|normal]
 *
 * Everything runs in this process: the Partner Center and Dataverse sandboxes and the service (SyncHarness) with its
 * worker driven by the bench. Set-up links --pairs incoming referrals to Dynamics opportunities. Each run then has two
 * phases, each measured from a queue filled before the clock starts to the queue drained:
 *   changed   a Microsoft seller changes dealValue on every referral: each sync writes the opportunity (intent,
 *             vendor write, commit); Dataverse's notification of that write comes back and its sync finds the pair
 *             settled;
 *   settled   a reconcile job per pair when nothing changed: the sync reads the referral and finds it settled.
 * Per phase: syncs run, store commits that wrote per sync (all of them, and without the inbox's: notifications that
 * arrive meanwhile, the echoes of our own writes among them), and syncs per second of wall time.
 *
 * Commits are counted by the store itself: SQLite counts its write commits (SqlDatabase.writeCommits); PostgreSQL's
 * figure is how far the server's transaction id moved (only a transaction that writes takes one), graphile-worker's
 * own transactions included, so with --store postgres on a server shared with other work the figure is an upper bound.
 * The PostgreSQL server is COSELL_BENCH_DATABASE_URL, else COSELL_TEST_DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Command } from 'commander';
import type { ConfigInput } from '../src/config/schema.ts';
import { SqliteStore } from '../src/store/sqlite/index.ts';
import { SyncHarness } from '../test/support/sync-harness.ts';
import { positiveInteger } from './support/cli.ts';
import { formatSpread, loadNote } from './support/stats.ts';

type StoreChoice = 'sqlite' | 'postgres';
const options = new Command('bench:commits')
  .description('store commits per pair sync and syncs per second, SQLite and/or PostgreSQL')
  .option('--pairs <n>', 'linked pairs each phase syncs', positiveInteger, 200)
  .option('--runs <n>', 'measured runs per store', positiveInteger, 3)
  .option('--store <s>', 'sqlite, postgres or both', (value: string) => {
    if (value !== 'sqlite' && value !== 'postgres' && value !== 'both') throw new Error('--store must be sqlite, postgres or both');
    return value;
  }, 'sqlite')
  .option('--synchronous <s>', "SQLite's synchronous: full or normal", (value: string) => {
    if (value !== 'full' && value !== 'normal') throw new Error('--synchronous must be full or normal');
    return value;
  }, 'full')
  .parse()
  .opts<{ pairs: number; runs: number; store: StoreChoice | 'both'; synchronous: 'full' | 'normal' }>();

interface PhaseFigures {
  syncs: number;
  commits: number;
  /** Of `commits`, the inbox's (notifications arriving, our own writes' echoes among them). */
  inbox: number;
  seconds: number;
}

/** How the store's write commits are counted. */
interface CommitCounter {
  read(): Promise<number>;
  /** Commits made by the inbox so far. */
  inbox(): number;
  close(): Promise<void>;
}

/** SQLite's own count; the inbox's commits are the ones its batch flushes make. */
function sqliteCounter(h: SyncHarness): CommitCounter {
  const store = h.service?.store;
  if (!(store instanceof SqliteStore)) throw new Error('the service does not run on a SQLite store');
  let inbox = 0;
  const flush = store.inbox.flush.bind(store.inbox);
  store.inbox.flush = () => {
    const before = store.writeCommits;
    flush();
    inbox += store.writeCommits - before;
  };
  return { read: () => Promise.resolve(store.writeCommits), inbox: () => inbox, close: () => Promise.resolve() };
}

/**
 * The next transaction id the server will hand out: only transactions that write take one. The inbox's are its
 * appends (one transaction each).
 */
async function postgresCounter(h: SyncHarness, url: string): Promise<CommitCounter> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const inboxStore = h.service!.store.inbox;
  let inbox = 0;
  const append = inboxStore.append.bind(inboxStore);
  inboxStore.append = (event) => {
    inbox++;
    return append(event);
  };
  return {
    read: async () => Number((await client.query<{ next: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next')).rows[0]?.next),
    inbox: () => inbox,
    close: () => client.end(),
  };
}

async function syncsRun(h: SyncHarness): Promise<number> {
  const metric = await h.service!.metrics.syncJobs.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

/** The harness's runWorkerUntilIdle with room for a large queue on a loaded machine. */
async function runUntilIdle(h: SyncHarness): Promise<void> {
  const worker = h.engine.worker;
  worker.start();
  try {
    await h.waitForIdle(600_000);
  } finally {
    await worker.stop();
  }
}

async function measure(h: SyncHarness, counter: CommitCounter, queue: () => Promise<void>): Promise<PhaseFigures> {
  await queue();
  const [syncs0, commits0, inbox0] = [await syncsRun(h), await counter.read(), counter.inbox()];
  const started = performance.now();
  await runUntilIdle(h);
  const seconds = (performance.now() - started) / 1000;
  const [syncs1, commits1, inbox1] = [await syncsRun(h), await counter.read(), counter.inbox()];
  return { syncs: syncs1 - syncs0, commits: commits1 - commits0, inbox: inbox1 - inbox0, seconds };
}

async function postgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const server = process.env.COSELL_BENCH_DATABASE_URL ?? process.env.COSELL_TEST_DATABASE_URL;
  if (!server) throw new Error('--store postgres needs COSELL_BENCH_DATABASE_URL (or COSELL_TEST_DATABASE_URL)');
  const name = `cosell_bench_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: server });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function benchStore(choice: StoreChoice): Promise<void> {
  const database = choice === 'postgres' ? await postgresDatabase() : undefined;
  // The configuration takes secrets by reference only.
  if (database) process.env.COSELL_BENCH_STORE_URL = database.url;
  const store: ConfigInput['store'] | undefined = database ? { driver: 'postgres', url: 'env:COSELL_BENCH_STORE_URL', pool: { max: 16 } } : undefined;
  const h = await SyncHarness.start({ runEngine: false, synchronous: options.synchronous, ...(store ? { store } : {}) });
  const counter = database ? await postgresCounter(h, database.url) : sqliteCounter(h);
  try {
    const ids: string[] = [];
    for (let i = 0; i < options.pairs; i++) {
      ids.push((await h.incomingReferral({ name: `Commit bench ${i}`, details: { dealValue: 1_000 }, customerProfile: { name: `Commit Customer ${i % 20}`, address: { postalCode: '10000' } } })).id);
    }
    await h.waitForWebhooks(120_000);
    await runUntilIdle(h);
    const rows: Array<{ changed: PhaseFigures; settled: PhaseFigures }> = [];
    for (let run = 0; run < options.runs; run++) {
      const changed = await measure(h, counter, async () => {
        for (const [i, id] of ids.entries()) await h.pcSellerEdit(id, { details: { dealValue: 2_000 + run * 10_000 + i } });
        await h.waitForWebhooks(120_000);
      });
      const settled = await measure(h, counter, () =>
        h.service!.store.jobs.enqueue(ids.map((referralId) => ({ connection: 'dynamics', cause: 'reconcile' as const, referralId, microsoftSide: false }))),
      );
      rows.push({ changed, settled });
      const line = (name: string, f: PhaseFigures) =>
        `  run ${run + 1} ${name.padEnd(8)} ${f.syncs} syncs, ${(f.commits / f.syncs).toFixed(2)} commits/sync (${f.commits} commits, ${f.inbox} of them the inbox's), ${(f.syncs / f.seconds).toFixed(1)} syncs/s`;
      console.log(line('changed', changed));
      console.log(line('settled', settled));
    }
    const summary = (name: string, pick: (r: { changed: PhaseFigures; settled: PhaseFigures }) => PhaseFigures) => {
      const figures = rows.map(pick);
      console.log(
        `  ${name.padEnd(8)} commits/sync ${formatSpread(figures.map((f) => f.commits / f.syncs), 2)}, without the inbox's ${formatSpread(figures.map((f) => (f.commits - f.inbox) / f.syncs), 2)}, syncs/s ${formatSpread(figures.map((f) => f.syncs / f.seconds))}`,
      );
    };
    console.log(`${choice}${choice === 'sqlite' ? ` (synchronous ${options.synchronous})` : ''}, ${options.pairs} pairs, median (range) of ${options.runs} runs; ${loadNote()}`);
    summary('changed', (r) => r.changed);
    summary('settled', (r) => r.settled);
  } finally {
    await counter.close();
    await h.close();
    await database?.drop();
  }
}

console.log(`bench:commits — ${loadNote()}`);
for (const choice of options.store === 'both' ? (['sqlite', 'postgres'] as const) : [options.store]) await benchStore(choice);
