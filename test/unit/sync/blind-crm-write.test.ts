import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { Link, SyncCommit } from '../../../src/store/types.ts';
import { CRM_MATCHES_BASE } from '../../../src/sync/plan/crm-mirror.ts';
import { assumedCrmRecord, CRM_NOTIFICATION_PAGE } from '../../../src/sync/run/blind-crm-write.ts';
import { referral } from './sync-fakes.ts';

/* When a Partner Center change may write the CRM record without reading it first (issue 12). */

const BASE = { referralId: 'ref-1', name: 'Deal', dealValue: 100, [CRM_MATCHES_BASE]: true };
const OURS = 'ours';

describe('the stored CRM version taken as current', () => {
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  async function setUp(over: Partial<SyncCommit['link']> = {}, holdConflicts: SyncCommit['holdConflicts'] = []) {
    const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    stores.push(store);
    await store.sync.commit({
      link: { connection: 'dynamics', referralId: 'ref-1', crmEntity: 'opportunity', crmId: 'opp-1', base: BASE, pcEtag: 'e1', crmVersion: 'v7', syncState: 'ok', lastError: null, ...over },
      audit: [],
      holdConflicts,
      releaseConflicts: [],
    });
    const link = (await store.sync.getLink('dynamics', 'ref-1')) as Link;
    let n = 0;
    const notify = (payload: string) => store.inbox.append({ source: 'dynamics', dedupKey: `n${++n}`, eventName: 'Update', resourceId: 'opp-1', payload });
    return { store, link, notify };
  }

  const connector = { kind: 'dynamics' as const, isOwnNotification: async (payload: string) => payload === OURS };
  const active = referral({ status: 'Active', substatus: 'Accepted', direction: 'Incoming' });

  it('is the link’s version and time, with no values, when only our own writes were announced since the commit', async () => {
    const { store, link, notify } = await setUp();
    await notify(OURS);
    const record = await assumedCrmRecord({ store, connector, link, referral: active });
    expect(record).toEqual({ ref: { entity: 'opportunity', id: 'opp-1' }, version: 'v7', modifiedAt: link.updatedAt, modifiedByUs: true, values: {} });
  });

  it('is not assumed after a seller’s notification, or when a full page of notifications may hide one', async () => {
    const foreign = await setUp();
    await foreign.notify('seller');
    expect(await assumedCrmRecord({ store: foreign.store, connector, link: foreign.link, referral: active })).toBeUndefined();
    const full = await setUp();
    for (let i = 0; i < CRM_NOTIFICATION_PAGE; i++) await full.notify(OURS);
    expect(await assumedCrmRecord({ store: full.store, connector, link: full.link, referral: active })).toBeUndefined();
  });

  it('is not assumed without the mark, in error, for a lead, or where versions are not exact', async () => {
    const unmarked = await setUp({ base: { name: 'Deal' } });
    expect(await assumedCrmRecord({ store: unmarked.store, connector, link: unmarked.link, referral: active })).toBeUndefined();
    const failed = await setUp({ syncState: 'error', lastError: 'x' });
    expect(await assumedCrmRecord({ store: failed.store, connector, link: failed.link, referral: active })).toBeUndefined();
    const lead = await setUp({ crmEntity: 'lead' });
    expect(await assumedCrmRecord({ store: lead.store, connector, link: lead.link, referral: active })).toBeUndefined();
    const fine = await setUp();
    expect(await assumedCrmRecord({ store: fine.store, connector: { kind: 'salesforce' }, link: fine.link, referral: active })).toBeUndefined();
  });

  it('is not assumed while the seller’s answer is awaited, a write intent is left, or a conflict is held', async () => {
    const { store, link } = await setUp();
    const unanswered = referral({ status: 'New', substatus: 'Pending', direction: 'Incoming' });
    expect(await assumedCrmRecord({ store, connector, link, referral: unanswered })).toBeUndefined();
    await store.sync.recordIntents([{ connection: 'dynamics', referralId: 'ref-1', crmEntity: 'opportunity', base: BASE, toCrm: { name: 'x' }, toPc: {} }]);
    expect(await assumedCrmRecord({ store, connector, link, referral: active })).toBeUndefined();
    const held = await setUp({}, [{ field: 'notes', base: null, pc: 'a', crm: 'b' }]);
    expect(await assumedCrmRecord({ store: held.store, connector, link: held.link, referral: active })).toBeUndefined();
  });
});
