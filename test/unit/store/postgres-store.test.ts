import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { PostgresStore } from '../../../src/store/postgres/index.ts';
import { describeUrl, redactUrl } from '../../../src/store/postgres/pool.ts';
import { createTestDatabase, postgresServerUrl, type TestDatabase } from '../../support/postgres.ts';

/* What only a shared PostgreSQL store has to get right: several instances opening and writing one database at once. */

describe('PostgreSQL store: several instances on one database', () => {
  let database: TestDatabase | undefined;
  const stores: PostgresStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await database?.drop();
    database = undefined;
  });
  const open = (url: string) => PostgresStore.open({ url, pool: { max: 2 }, applicationName: 'cosell-pg-test' });

  it('migrates once when 4 stores open the same empty database at the same time', async () => {
    database = await createTestDatabase('cosell_pgstore');
    const url = database.url;
    stores.push(...(await Promise.all([1, 2, 3, 4].map(() => open(url)))));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const versions = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(versions.rows.map((r) => r.version)).toEqual(versions.rows.map((_, i) => i + 1));
      expect(versions.rows.length).toBeGreaterThan(0);
      const tables = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('inbox', 'links', 'dead_letters', 'conflicts')`,
      );
      expect(tables.rows[0]?.n).toBe(4);
      const worker = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM information_schema.views WHERE table_schema = 'graphile_worker' AND table_name = 'jobs'`);
      expect(worker.rows[0]?.n).toBe(1);
    } finally {
      await client.end();
    }
    // Every instance works on the one schema.
    await Promise.all(stores.map((s, i) => s.sync.setWatermark(`w${i}`, String(i))));
    expect(Object.keys(await stores[0]!.sync.watermarks())).toHaveLength(4);
  });

  it('keeps one event when 2 stores (2 pools) append the same dedup key at once, counting both deliveries', async () => {
    database = await createTestDatabase('cosell_pgstore');
    const url = database.url;
    const a = await open(url);
    const b = await open(url);
    stores.push(a, b);
    for (let round = 0; round < 10; round++) {
      const event = {
        source: 'partner-center' as const, dedupKey: `k-${round}`, eventName: 'referral-updated', resourceId: `r-${round}`, payload: '{}',
        jobs: [{ connection: 'dynamics', cause: 'event' as const, referralId: `r-${round}` }],
      };
      const results = await Promise.all([a.inbox.append(event), b.inbox.append(event)]);
      expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
      expect(results[0]?.id).toBe(results[1]?.id);
    }
    expect(await a.inbox.count()).toBe(10);
    expect((await b.inbox.list({ limit: 20 })).map((e) => e.deliveries)).toEqual(Array.from({ length: 10 }, () => 2));
    expect(await a.jobs.depth()).toBe(10);
  });

  it("queues the pair's sync when an operator and a seller lift their pauses at the same time on 2 instances", async () => {
    database = await createTestDatabase('cosell_pgstore');
    const url = database.url;
    const a = await open(url);
    const b = await open(url);
    stores.push(a, b);
    const seller = { by: 'seller', crm: 'Dynamics' } as const;
    for (let round = 0; round < 10; round++) {
      const referralId = `r-${round}`;
      await a.sync.commit({
        link: { connection: 'dynamics', referralId, crmEntity: 'opportunity', crmId: `o-${round}`, base: {}, pcEtag: null, crmVersion: null, syncState: 'ok', lastError: null },
        audit: [], holdConflicts: [], releaseConflicts: [],
      });
      await a.sync.pausePair('dynamics', referralId);
      await a.sync.pausePair('dynamics', referralId, seller);
      // Each sees the other's hold only if it has not committed yet: without serialising, neither would queue the sync.
      expect(await Promise.all([a.sync.resumePair('dynamics', referralId), b.sync.resumePair('dynamics', referralId, seller)])).toEqual([true, true]);
      expect(await a.sync.isPaused('dynamics', referralId)).toBe(false);
    }
    expect(await a.jobs.depth()).toBe(10);
  });

  it('opens from its configuration (URL from the environment, no TLS to a local server) and closes once', async () => {
    database = await createTestDatabase('cosell_pgstore');
    const { store } = parseConfig('test', {
      store: { driver: 'postgres', url: 'env:COSELL_TEST_STORE_URL', pool: { max: 3 } },
      partnerCenter: { referralsApiUrl: 'http://127.0.0.1:9', webhooksApiUrl: 'http://127.0.0.1:9' },
    });
    if (store.driver !== 'postgres') throw new Error('expected a postgres store');
    const opened = await PostgresStore.fromConfig(store, { env: { COSELL_TEST_STORE_URL: database.url } });
    expect(opened.pool.options.max).toBe(3);
    await opened.sync.setWatermark('w', '1');
    expect(await opened.sync.getWatermark('w')).toBe('1');
    await Promise.all([opened.close(), opened.close()]);
  });

  it('never shows the password of the URL', async () => {
    expect(describeUrl('postgres://cosell:s3cr%40t@db.example:5432/cosell')).toBe('postgres://cosell:***@db.example:5432/cosell');
    expect(redactUrl('connect failed for postgres://cosell:s3cr@t@db', 'postgres://cosell:s3cr%40t@db.example/cosell')).not.toContain('s3cr@t');
    // The test server refusing (no such role or database): the error carries no password.
    const url = new URL(postgresServerUrl());
    url.username = 'cosell_no_such_role';
    url.password = 'hunter2secret';
    url.pathname = '/cosell_no_such_database';
    const refused = PostgresStore.open({ url: url.toString(), pool: { max: 1 }, applicationName: 'cosell-pg-test' });
    await expect(refused).rejects.toThrow();
    await refused.catch((error: unknown) => expect(String(error)).not.toContain('hunter2secret'));
  });
});
