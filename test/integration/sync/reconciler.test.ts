/*
 * The reconciler against the Partner Center sandbox over HTTP: what its OData `updatedDateTime ge` listing re-reads at
 * the watermark's boundary. An integration test, kept out of test/unit/sync so the sync core's unit tests run without
 * any server.
 */

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CrmChangeBatch, CrmConnector, CrmEntityName } from '../../../src/crm/connector.ts';
import { ReferralsClient } from '../../../src/partner-center/referrals-client.ts';
import { StaticTokenProvider } from '../../../src/http/tokens.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../../src/sandbox/partner-center/index.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { PARTNER_CENTER_WATERMARK, Reconciler, crmWatermark } from '../../../src/sync/reconciler.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { makeTempDir } from '../../support/tmp.ts';

/** Only `changesSince` matters to the reconciler; a CRM stand-in that serves scripted change batches. */
function scriptedCrm(name: string, batches: CrmChangeBatch[]): CrmConnector & { cursors: Array<string | null> } {
  const cursors: Array<string | null> = [];
  const unused = () => Promise.reject(new Error('not used by the reconciler'));
  return {
    name,
    kind: 'dynamics',
    leadsEnabled: true,
    cursors,
    describe: unused,
    read: unused,
    findByReferralId: unused,
    createForReferral: unused,
    update: unused,
    ensureCustomer: unused,
    readCustomer: unused,
    writeSyncStatus: unused,
    changesSince: (_entity: CrmEntityName, cursor: string | null) => {
      cursors.push(cursor);
      return Promise.resolve(batches.shift() ?? { refs: [], cursor: cursor ?? 'c0' });
    },
  };
}

describe('reconciler', () => {
  const tmp = makeTempDir();
  let sandbox: PartnerCenterSandbox;
  let store: SqliteStore;
  let referrals: ReferralsClient;

  beforeAll(async () => {
    sandbox = await startPartnerCenterSandbox({ port: 0 });
    store = SqliteStore.open({ path: join(tmp.path, 'r.db'), synchronous: 'normal' });
    referrals = new ReferralsClient({ baseUrl: sandbox.url, tokenProvider: new StaticTokenProvider('t') });
  });
  afterAll(async () => {
    await store.close();
    await sandbox.close();
    tmp.cleanup();
  });

  it('enqueues changed referrals for every connection and CRM changes, then advances the watermarks', async () => {
    await fetch(`${sandbox.url}/_sandbox/referrals/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 120, events: false, microsoftSide: false }),
    });
    const crm = scriptedCrm('dynamics', [
      { refs: [], cursor: 'delta-1' },
      { refs: [{ entity: 'opportunity', id: 'o-1' }], cursor: 'delta-2' },
    ]);
    const reconciler = new Reconciler({
      store,
      referrals,
      connectors: [crm],
      entities: ['opportunity'],
      logger: silentLogger(),
      intervalMs: 60_000,
      // The seed lands within milliseconds; a real overlap would re-list all of it.
      overlapMs: 0,
      initialLookbackMs: 3_600_000,
      batchSize: 50,
    });
    const first = await reconciler.runOnce();
    expect(first.referrals).toBe(120);
    expect(await store.jobs.depth()).toBe(120);
    expect(await store.sync.getWatermark(PARTNER_CENTER_WATERMARK)).toBe(first.partnerCenterWatermark);
    expect(await store.sync.getWatermark(crmWatermark('dynamics', 'opportunity'))).toBe('delta-1');

    for (const job of await store.jobs.claim(500, 60_000)) await store.jobs.complete(job);
    const second = await reconciler.runOnce();
    expect(crm.cursors).toEqual([null, 'delta-1']);
    expect(await store.sync.getWatermark(crmWatermark('dynamics', 'opportunity'))).toBe('delta-2');
    // `ge watermark` re-lists only the boundary: the referrals in the newest millisecond (the watermark keeps ms
    // precision, Partner Center's timestamps have more), which under load can be several.
    const watermarkMs = Date.parse(first.partnerCenterWatermark);
    let boundary = 0;
    for await (const r of referrals.list({})) if (Date.parse(String(r.updatedDateTime)) >= watermarkMs) boundary++;
    expect(boundary).toBeGreaterThanOrEqual(1);
    expect(second.referrals).toBe(boundary);
    expect((await store.jobs.claim(500, 60_000)).some((j) => j.key === 'dynamics:crm:opportunity:o-1')).toBe(true);
  });

  it('re-lists from an explicit --since regardless of the watermark', async () => {
    const reconciler = new Reconciler({
      store,
      referrals,
      connectors: [scriptedCrm('dynamics', [])],
      entities: ['opportunity'],
      logger: silentLogger(),
      intervalMs: 60_000,
      overlapMs: 0,
      initialLookbackMs: 0,
    });
    const report = await reconciler.runOnce({ since: '2000-01-01T00:00:00Z' });
    expect(report.referrals).toBeGreaterThanOrEqual(120);
  });

  it('queues no job for a pair the listing shows at the version its link committed, waits for queue room per batch, and reports progress', async () => {
    const own = tmp.path + '/settled.db';
    const db = SqliteStore.open({ path: own, synchronous: 'normal' });
    try {
      const listed: Array<{ id: string; eTag: string }> = [];
      for await (const r of referrals.list({})) listed.push({ id: String(r.id), eTag: String(r.eTag) });
      const [settled, moved] = listed;
      if (!settled || !moved) throw new Error('the sandbox holds no referrals');
      const link = (referralId: string, pcEtag: string, crmId: string) => ({ connection: 'dynamics', referralId, crmEntity: 'opportunity', crmId, base: {}, pcEtag, crmVersion: 'v1', syncState: 'ok' as const, lastError: null });
      await db.sync.commit({ link: link(settled.id, settled.eTag, 'o-settled'), audit: [], holdConflicts: [], releaseConflicts: [] });
      await db.sync.commit({ link: link(moved.id, 'an older eTag', 'o-moved'), audit: [], holdConflicts: [], releaseConflicts: [] });
      const crm = scriptedCrm('dynamics', [{ refs: [{ entity: 'opportunity', id: 'o-settled', version: 'v1' }, { entity: 'opportunity', id: 'o-moved', version: 'v2' }], cursor: 'delta-x' }]);
      let roomAsked = 0;
      const reconciler = new Reconciler({
        store: db,
        referrals,
        connectors: [crm],
        entities: ['opportunity'],
        logger: silentLogger(),
        intervalMs: 60_000,
        overlapMs: 0,
        initialLookbackMs: 0,
        batchSize: 50,
        queueRoom: async () => {
          roomAsked++;
        },
      });
      await db.sync.setWatermark(crmWatermark('dynamics', 'opportunity'), 'delta-0');
      const report = await reconciler.runOnce({ since: '2000-01-01T00:00:00Z' });
      const keys = (await db.jobs.claim(1000, 60_000)).map((job) => job.key);
      expect(keys).not.toContain(`dynamics:ref:${settled.id}`);
      expect(keys).toContain(`dynamics:ref:${moved.id}`);
      // o-moved changed (v2): its job is the pair's (coalesced into the referral's key); o-settled needs none.
      expect(keys).toHaveLength(report.referrals - 1);
      expect(keys.filter((key) => key.includes(':crm:'))).toEqual([]);
      expect(roomAsked).toBe(Math.ceil(report.referrals / 50));
      expect(reconciler.progress()).toMatchObject({ running: false, referrals: report.referrals, backfilled: 0, queued: report.referrals - 1 });
    } finally {
      await db.close();
    }
  });
});
