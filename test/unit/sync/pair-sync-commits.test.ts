import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { Job, SyncCommit, SyncState, WriteIntent } from '../../../src/store/types.ts';
import { mergeRecord } from '../../../src/sync/merge/index.ts';
import { PairSync, type ConnectionSetup } from '../../../src/sync/pair-sync.ts';
import type { SyncStorePort } from '../../../src/sync/ports.ts';
import { Worker } from '../../../src/sync/worker.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { FakeCrm, FakeReferrals, testMapping } from './sync-fakes.ts';

/*
 * Which store writes a pair's sync makes, over the real SQLite store and the real worker (the connector and the
 * referrals client are fakes). The job may complete in a commit only when nothing of the run follows it: a create's
 * link commit is followed by the pair's first merge, whose writes a crash must not lose.
 */

interface Recorded {
  intents: WriteIntent[][];
  commits: SyncCommit[];
}

function recording(store: SqliteStore): { port: SyncStorePort; recorded: Recorded } {
  const recorded: Recorded = { intents: [], commits: [] };
  const sync = Object.create(store.sync, {
    commit: { value: (commit: SyncCommit) => (recorded.commits.push(commit), store.sync.commit(commit)) },
    recordIntents: { value: (intents: WriteIntent[]) => (recorded.intents.push(intents), store.sync.recordIntents(intents)) },
  }) as SyncState;
  return { port: { sync, inbox: store.inbox, jobs: store.jobs, locks: store.locks }, recorded };
}

function world() {
  const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
  const referrals = new FakeReferrals();
  const crm = new FakeCrm();
  const connection: ConnectionSetup = { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: true } };
  const { port, recorded } = recording(store);
  const pairSync = new PairSync({ store: port, referrals, connections: new Map([[crm.name, connection]]), merge: mergeRecord, logger: silentLogger() });
  const ran: Job[] = [];
  const worker = new Worker({ jobs: store.jobs, handler: (job) => (ran.push(job), pairSync.handler(job)), logger: silentLogger(), idlePollMs: 20 });
  /** Queues a sync of the referral and runs the worker until the queue is empty. */
  const sync = async (referralId: string) => {
    recorded.intents.length = 0;
    recorded.commits.length = 0;
    ran.length = 0;
    await store.jobs.enqueue([{ connection: crm.name, cause: 'event', referralId }]);
    worker.start();
    try {
      await worker.drain();
    } finally {
      await worker.stop();
    }
  };
  return { store, referrals, crm, recorded, ran, sync };
}

describe('PairSync: the store writes of one sync', () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it("a linked pair's change: the intent, then one commit that also completes the job; nothing else", async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-1', name: 'Deal', details: { dealValue: 100 } });
    await w.sync('ref-1');
    w.referrals.edit('ref-1', [{ path: ['details', 'dealValue'], value: 200 }]);
    const before = w.store.writeCommits;
    await w.sync('ref-1');

    expect(w.ran).toHaveLength(1);
    expect(w.recorded.intents).toHaveLength(1);
    expect(w.recorded.commits).toHaveLength(1);
    expect(w.recorded.commits[0]?.completes).toBe(w.ran[0]);
    // The enqueue above, the intent and the commit: the claim and the completion write nothing of their own (nor
    // does the deal's label, unchanged).
    expect(w.store.writeCommits - before).toBe(3);
    expect(await w.store.jobs.depth()).toBe(0);
  });

  it('a pair settled already writes no intent and no commit', async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-2', name: 'Deal', details: { dealValue: 100 } });
    await w.sync('ref-2');
    await w.sync('ref-2');
    expect(w.ran).toHaveLength(1);
    expect(w.recorded.intents).toEqual([]);
    expect(w.recorded.commits).toEqual([]);
    expect(await w.store.jobs.depth()).toBe(0);
  });

  it("a create's link commit does not complete the job: the pair's first merge follows it", async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-3', name: 'New deal', details: { dealValue: 100 } });
    await w.sync('ref-3');
    expect(w.recorded.commits.length).toBeGreaterThanOrEqual(2);
    expect(w.recorded.commits.map((c) => c.completes)).toEqual(w.recorded.commits.map(() => undefined));
    expect(await w.store.jobs.depth()).toBe(0);
  });
});
