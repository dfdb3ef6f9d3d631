import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { makeTempDir } from '../../support/tmp.ts';

describe('SQLite job queue and sync state', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  let n = 0;
  const open = () => SqliteStore.open({ path: join(tmp.path, `jobs-${++n}.db`), synchronous: 'normal' });

  it('coalesces events for one pair and reruns a job enqueued again while it ran', async () => {
    const store = open();
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r1' }]);
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r1' }]);
    expect(await store.jobs.depth()).toBe(1);
    const [job] = await store.jobs.claim(10, 60_000);
    expect(job?.generation).toBe(2);
    expect(await store.jobs.claim(10, 60_000)).toEqual([]);
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r1' }]);
    await store.jobs.complete(job!);
    expect(await store.jobs.depth()).toBe(1);
    const [again] = await store.jobs.claim(10, 60_000);
    expect(again?.generation).toBe(3);
    await store.jobs.complete(again!);
    expect(await store.jobs.depth()).toBe(0);
    await store.close();
  });

  it('files a CRM event for a linked record under its referral', async () => {
    const store = open();
    await store.sync.commit({
      link: {
        connection: 'dynamics',
        referralId: 'r2',
        crmEntity: 'opportunity',
        crmId: 'o2',
        base: { dealValue: 10 },
        pcEtag: 'e1',
        crmVersion: 'v1',
        syncState: 'ok',
        lastError: null,
      },
      audit: [],
      holdConflicts: [],
      releaseConflicts: [],
    });
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', crm: { entity: 'opportunity', id: 'o2' } }]);
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', crm: { entity: 'opportunity', id: 'o3' } }]);
    const keys = (await store.jobs.claim(10, 1000)).map((j) => j.key).sort();
    expect(keys).toEqual(['dynamics:crm:opportunity:o3', 'dynamics:ref:r2']);
    await store.close();
  });

  it('retries later, dead-letters, and replays a dead letter as a manual job', async () => {
    const store = open();
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r4' }]);
    const now = Date.now();
    const [job] = await store.jobs.claim(1, 1000, now);
    await store.jobs.retry(job!, 'HTTP 503', 5_000, now);
    expect(await store.jobs.claim(1, 1000, now + 1_000)).toEqual([]);
    const [retried] = await store.jobs.claim(1, 1000, now + 5_000);
    expect(retried?.attempts).toBe(1);
    expect(retried?.lastError).toBe('HTTP 503');
    await store.jobs.deadLetter(retried!, '400 invalidRequest: customerProfile.address.country');
    expect(await store.jobs.depth()).toBe(0);
    const [letter] = await store.sync.deadLetters({ open: true, limit: 10 });
    expect(letter).toMatchObject({ referralId: 'r4', attempts: 2, error: expect.stringContaining('country') });
    expect(await store.sync.replayDeadLetter(letter!.id)).toBe(true);
    expect(await store.sync.replayDeadLetter(letter!.id)).toBe(false);
    expect(await store.sync.deadLetters({ open: true, limit: 10 })).toEqual([]);
    expect((await store.jobs.claim(1, 1000))[0]?.cause).toBe('manual');
    await store.close();
  });

  it('makes a job claimable again after its lease expires, and after a restart', async () => {
    const path = join(tmp.path, 'lease.db');
    const store = SqliteStore.open({ path, synchronous: 'full' });
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r5' }]);
    const now = Date.now();
    expect(await store.jobs.claim(1, 10_000, now)).toHaveLength(1);
    expect(await store.jobs.claim(1, 10_000, now + 5_000)).toHaveLength(0);
    expect(await store.jobs.claim(1, 10_000, now + 10_001)).toHaveLength(1);
    await store.close();
    const reopened = SqliteStore.open({ path, synchronous: 'full' });
    expect(await reopened.jobs.claim(1, 10_000)).toHaveLength(1);
    await reopened.close();
  });

  it('commits the inbox row and its jobs together, and not again for a redelivery', async () => {
    const store = open();
    const event = {
      source: 'partner-center' as const,
      dedupKey: 'k1',
      eventName: 'referral-updated',
      resourceId: 'r6',
      payload: '{}',
      jobs: [
        { connection: 'dynamics', cause: 'event' as const, referralId: 'r6' },
        { connection: 'salesforce', cause: 'event' as const, referralId: 'r6' },
      ],
    };
    await store.inbox.append(event);
    const first = await store.jobs.claim(10, 1000);
    expect(first.map((j) => j.key).sort()).toEqual(['dynamics:ref:r6', 'salesforce:ref:r6']);
    for (const j of first) await store.jobs.complete(j);
    await store.inbox.append(event);
    expect(await store.jobs.depth()).toBe(0);
    await store.close();
  });

  it('commits a change stream resume point together with the jobs it covers', async () => {
    const store = open();
    await store.jobs.enqueue([{ connection: 'salesforce', cause: 'event', crm: { entity: 'opportunity', id: '006A' } }], {
      source: 'salesforce:cdc:/data/OpportunityChangeEvent',
      value: '42',
    });
    expect(await store.sync.getWatermark('salesforce:cdc:/data/OpportunityChangeEvent')).toBe('42');
    expect((await store.jobs.claim(5, 1000)).map((j) => j.key)).toEqual(['salesforce:crm:opportunity:006A']);
    await store.close();
  });

  it('keeps audit entries, held conflicts and watermarks', async () => {
    const store = open();
    const link = {
      connection: 'dynamics',
      referralId: 'r7',
      crmEntity: 'opportunity',
      crmId: 'o7',
      base: { notes: 'a' },
      pcEtag: null,
      crmVersion: null,
      syncState: 'ok' as const,
      lastError: null,
    };
    await store.sync.commit({
      link,
      audit: [
        {
          connection: 'dynamics',
          referralId: 'r7',
          crmEntity: 'opportunity',
          crmId: 'o7',
          direction: 'none',
          field: 'notes',
          oldValue: 'a',
          newValue: null,
          cause: 'event',
          outcome: 'held',
          message: 'manual policy',
        },
      ],
      holdConflicts: [{ field: 'notes', base: 'a', pc: 'b', crm: false }],
      releaseConflicts: [],
    });
    const [entry] = await store.sync.audit({ referralId: 'r7', limit: 5 });
    expect(entry).toMatchObject({ field: 'notes', oldValue: 'a', newValue: null, outcome: 'held' });
    expect(await store.sync.conflicts()).toEqual([expect.objectContaining({ field: 'notes', pc: 'b', crm: false })]);
    await store.sync.commit({ link, audit: [], holdConflicts: [], releaseConflicts: ['notes'] });
    expect(await store.sync.conflicts()).toEqual([]);
    expect(await store.sync.getWatermark('pc')).toBeNull();
    await store.sync.setWatermark('pc', '2026-01-01T00:00:00Z');
    await store.sync.setWatermark('pc', '2026-01-02T00:00:00Z');
    expect(await store.sync.getWatermark('pc')).toBe('2026-01-02T00:00:00Z');
    expect((await store.sync.findLinkByCrm('dynamics', 'opportunity', 'o7'))?.referralId).toBe('r7');
    await store.close();
  });

  it('re-reads Microsoft\'s side when any coalesced request asks for it, and keeps asking until a run with it completes', async () => {
    const store = open();
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r9', microsoftSide: false }]);
    const [first] = await store.jobs.claim(10, 60_000);
    expect(first?.microsoftSide).toBe(false);
    // A related-referral event arrives while that run is in flight: the rerun must read Microsoft's side.
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r9' }]);
    await store.jobs.complete(first!);
    const [rerun] = await store.jobs.claim(10, 60_000);
    expect(rerun?.microsoftSide).toBe(true);
    // A plain change during that rerun does not cancel the request (the flag only clears with the job).
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r9', microsoftSide: false }]);
    await store.jobs.complete(rerun!);
    const [again] = await store.jobs.claim(10, 60_000);
    expect(again?.microsoftSide).toBe(true);
    await store.jobs.complete(again!);
    expect(await store.jobs.depth()).toBe(0);
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r9', microsoftSide: false }]);
    expect((await store.jobs.claim(10, 60_000))[0]?.microsoftSide).toBe(false);
    await store.close();
  });
});
