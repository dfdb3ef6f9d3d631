import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/store/sqlite/driver.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { NewInboxEvent } from '../../../src/store/types.ts';
import { makeTempDir } from '../../support/tmp.ts';

const event = (n: number, overrides: Partial<NewInboxEvent> = {}): NewInboxEvent => ({
  source: 'partner-center',
  dedupKey: `key-${n}`,
  eventName: 'referral-updated',
  resourceId: `ref-${n}`,
  payload: `{"n":${n}}`,
  ...overrides,
});

describe('SQLite inbox', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it('commits concurrent appends together and deduplicates within and across batches', async () => {
    const store = SqliteStore.open({ path: join(tmp.path, 'a.db'), synchronous: 'full' });
    const results = await Promise.all([event(1), event(2), event(1), event(3)].map((e) => store.inbox.append(e)));
    expect(results.map((r) => r.duplicate)).toEqual([false, false, true, false]);
    expect(results[2]?.id).toBe(results[0]?.id);
    const again = await store.inbox.append(event(2));
    expect(again).toEqual({ id: results[1]?.id, duplicate: true });
    expect(await store.inbox.count()).toBe(3);
    const listed = await store.inbox.list({ limit: 10 });
    expect(listed.map((e) => e.dedupKey)).toEqual(['key-3', 'key-2', 'key-1']);
    expect(listed.find((e) => e.dedupKey === 'key-2')?.deliveries).toBe(2);
    await store.close();
  });

  it("commits a stream's resume point with its event, also when the event is a redelivery", async () => {
    const store = SqliteStore.open({ path: join(tmp.path, 'w.db'), synchronous: 'normal' });
    const watermark = (value: string) => ({ source: 'salesforce:cdc:/data/OpportunityChangeEvent', value });
    await store.inbox.append(event(1, { source: 'salesforce', watermark: watermark('41') }));
    expect(await store.sync.getWatermark('salesforce:cdc:/data/OpportunityChangeEvent')).toBe('41');
    const again = await store.inbox.append(event(1, { source: 'salesforce', watermark: watermark('42') }));
    expect(again.duplicate).toBe(true);
    expect(await store.sync.getWatermark('salesforce:cdc:/data/OpportunityChangeEvent')).toBe('42');
    expect(Object.keys((await store.inbox.list({ limit: 1 }))[0] ?? {})).not.toContain('watermark');
    await store.close();
  });

  it('keeps the same dedup key apart per source', async () => {
    const store = SqliteStore.open({ path: join(tmp.path, 'b.db'), synchronous: 'normal' });
    await store.inbox.append(event(1));
    const other = await store.inbox.append(event(1, { source: 'dynamics' }));
    expect(other.duplicate).toBe(false);
    expect(await store.inbox.count('partner-center')).toBe(1);
    expect(await store.inbox.count('dynamics')).toBe(1);
    await store.close();
  });

  it('pages newest first with beforeId and filters by resource', async () => {
    const store = SqliteStore.open({ path: join(tmp.path, 'c.db'), synchronous: 'full' });
    for (let i = 1; i <= 5; i++) await store.inbox.append(event(i));
    const page1 = await store.inbox.list({ limit: 2 });
    const page2 = await store.inbox.list({ limit: 2, beforeId: page1[1]?.id });
    expect([...page1, ...page2].map((e) => e.resourceId)).toEqual(['ref-5', 'ref-4', 'ref-3', 'ref-2']);
    expect(await store.inbox.list({ limit: 10, resourceId: 'ref-3' })).toHaveLength(1);
    await store.close();
  });

  it('is durable across reopen, in WAL mode, and migrations are idempotent', async () => {
    const path = join(tmp.path, 'd.db');
    const first = SqliteStore.open({ path, synchronous: 'full' });
    await first.inbox.append(event(1));
    await first.close();
    const second = SqliteStore.open({ path, synchronous: 'full' });
    expect(await second.inbox.count()).toBe(1);
    await second.close();
    const raw = openDatabase(path, { readonly: true });
    expect(raw.prepare<[], { journal_mode: string }>('PRAGMA journal_mode').get()?.journal_mode).toBe('wal');
    expect(raw.prepare<[], { user_version: number }>('PRAGMA user_version').get()?.user_version).toBeGreaterThanOrEqual(1);
    raw.close();
  });

  it('refuses a database written by a newer schema', () => {
    const path = join(tmp.path, 'e.db');
    const raw = openDatabase(path);
    raw.exec('PRAGMA user_version = 999');
    raw.close();
    expect(() => SqliteStore.open({ path, synchronous: 'full' })).toThrow(/newer than this build/);
  });
});
