import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { SyncCommit } from '../../../src/store/types.ts';
import { makeTempDir } from '../../support/tmp.ts';

describe('SQLite write intents', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  const commitOf = (crmEntity: string): SyncCommit => ({
    link: { connection: 'dynamics', referralId: 'r1', crmEntity, crmId: `${crmEntity}-1`, base: {}, pcEtag: null, crmVersion: null, syncState: 'ok', lastError: null },
    audit: [],
    holdConflicts: [],
    releaseConflicts: [],
  });

  it('keeps an intent across a reopen, replaces it per pair and entity, and drops it with the commit of that entity only', async () => {
    const path = join(tmp.path, 'intents.db');
    let store = SqliteStore.open({ path, synchronous: 'full' });
    await store.sync.recordIntents([
      { connection: 'dynamics', referralId: 'r1', crmEntity: 'lead', base: { dealValue: 0 }, toCrm: { dealValue: 1 }, toPc: {} },
      { connection: 'dynamics', referralId: 'r1', crmEntity: 'opportunity', base: { dealValue: 2, notes: null }, toCrm: {}, toPc: {} },
    ]);
    await store.close();

    store = SqliteStore.open({ path, synchronous: 'full' });
    expect(await store.sync.getIntent('dynamics', 'r1', 'opportunity')).toEqual({
      connection: 'dynamics',
      referralId: 'r1',
      crmEntity: 'opportunity',
      base: { dealValue: 2, notes: null },
      toCrm: {},
      toPc: {},
    });
    await store.sync.recordIntents([{ connection: 'dynamics', referralId: 'r1', crmEntity: 'lead', base: { status: 'New' }, toCrm: {}, toPc: { status: 'Active' } }]);
    expect(await store.sync.getIntent('dynamics', 'r1', 'lead')).toMatchObject({ base: { status: 'New' }, toCrm: {}, toPc: { status: 'Active' } });

    // The lead's sync commits: the opportunity being created for the promoted referral is still announced.
    await store.sync.commit(commitOf('lead'));
    expect(await store.sync.getIntent('dynamics', 'r1', 'lead')).toBeNull();
    expect(await store.sync.getIntent('dynamics', 'r1', 'opportunity')).not.toBeNull();
    await store.sync.commit(commitOf('opportunity'));
    expect(await store.sync.getIntent('dynamics', 'r1', 'opportunity')).toBeNull();
    expect(await store.sync.getIntent('salesforce', 'r1', 'opportunity')).toBeNull();
    await store.close();
  });
});
