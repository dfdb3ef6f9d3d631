import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { Link } from '../../../src/store/types.ts';
import { makeTempDir } from '../../support/tmp.ts';

describe('SQLite dead letters: open until the pair syncs or is replayed', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  let n = 0;
  const open = () => SqliteStore.open({ path: join(tmp.path, `dead-${++n}.db`), synchronous: 'normal' });
  const link = (referralId: string, crmId: string, syncState: Link['syncState'] = 'ok') => ({
    link: { connection: 'dynamics', referralId, crmEntity: 'opportunity', crmId, base: {}, pcEtag: null, crmVersion: null, syncState, lastError: null },
    audit: [],
    holdConflicts: [],
    releaseConflicts: [],
  });

  it('closes a CRM-keyed dead letter when the linked pair later syncs under its referral', async () => {
    const store = open();
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', crm: { entity: 'opportunity', id: 'o1' } }]);
    const [failing] = await store.jobs.claim(1, 1000);
    await store.jobs.deadLetter(failing!, '400 invalidRequest: customerProfile.name');
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'other' }]);
    const [unrelated] = await store.jobs.claim(1, 1000);
    await store.jobs.deadLetter(unrelated!, '403 accessDenied');
    expect(await store.sync.deadLetters({ open: true, limit: 10 })).toHaveLength(2);

    await store.sync.commit(link('r1', 'o1'));
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'reconcile', referralId: 'r1' }]);
    const [synced] = await store.jobs.claim(1, 1000);
    await store.jobs.complete(synced!);

    expect((await store.sync.deadLetters({ open: true, limit: 10 })).map((d) => d.referralId)).toEqual(['other']);
    const closed = (await store.sync.deadLetters({ limit: 10 })).find((d) => d.crmId === 'o1');
    expect(closed).toMatchObject({ resolvedBy: 'sync', resolvedAt: expect.any(String), replayedAt: null });
    await store.close();
  });

  it('keeps it open when the sync left the pair in error, and closes a replayed one as resolved by replay', async () => {
    const store = open();
    await store.sync.commit(link('r2', 'o2', 'error'));
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r2' }]);
    const [failing] = await store.jobs.claim(1, 1000);
    await store.jobs.deadLetter(failing!, '400 invalidRequest');
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r2' }]);
    const [again] = await store.jobs.claim(1, 1000);
    await store.jobs.complete(again!);
    const [letter] = await store.sync.deadLetters({ open: true, limit: 10 });
    expect(letter).toMatchObject({ referralId: 'r2', resolvedAt: null, resolvedBy: null });

    expect(await store.sync.replayDeadLetter(letter!.id)).toBe(true);
    expect(await store.sync.deadLetters({ open: true, limit: 10 })).toEqual([]);
    expect((await store.sync.deadLetters({ limit: 10 }))[0]).toMatchObject({ resolvedBy: 'replay', resolvedAt: expect.any(String) });
    await store.close();
  });
});
