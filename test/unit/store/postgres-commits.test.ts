import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../../src/store/postgres/index.ts';
import type { DealLabel } from '../../../src/store/types.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

/* Writes a sync makes on PostgreSQL that must cost nothing when nothing changed. */

describe('PostgreSQL store: no write for what did not change', () => {
  let database: TestDatabase | undefined;
  let store: PostgresStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await database?.drop();
    database = undefined;
  });

  it("a deal's unchanged label neither writes nor locks its row (no transaction id, no WAL flush at commit)", async () => {
    database = await createTestDatabase('cosell_pgcommits');
    store = await PostgresStore.open({ url: database.url, pool: { max: 2 }, applicationName: 'cosell-pg-commits-test' });
    const label: DealLabel = { connection: 'dynamics', referralId: 'r1', crmEntity: null, crmId: null, name: 'Deal', customer: 'Contoso', respondBy: null };
    // xmax is set by whoever deletes, updates or locks the row version: a lock takes a transaction id of its own.
    const row = async () => (await store!.pool.query<{ xmax: string; name: string }>("SELECT xmax::text AS xmax, name FROM deal_labels WHERE subject = 'r1'")).rows[0];
    await store.sync.labelDeal(label);
    const first = await row();
    expect(first?.xmax).toBe('0');
    await store.sync.labelDeal(label);
    expect(await row()).toEqual(first);
    await store.sync.labelDeal({ ...label, name: 'Renamed deal' });
    expect((await row())?.name).toBe('Renamed deal');
  });
});
