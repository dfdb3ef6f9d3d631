/*
 * The sync engine on the PostgreSQL store (issue 15): graphile-worker's runner runs the jobs, with our outcome decisions
 * (retry delay, postponement without an attempt, dead letters); two engines on one database never sync one pair at
 * once; only the leader reconciles; advisory locks keep one customer account across stores. Each test has its own
 * database (COSELL_TEST_DATABASE_URL or the embedded server, see test/support/postgres.ts).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { CustomerRefs } from '../../../src/crm/connector.ts';
import { PostgresLeadership } from '../../../src/store/postgres/leadership.ts';
import { PostgresStore } from '../../../src/store/postgres/index.ts';
import type { Job } from '../../../src/store/types.ts';
import { ConnectionAvailability } from '../../../src/sync/connection-availability.ts';
import { createEngine, type Engine, type LoadedConnection } from '../../../src/sync/engine.ts';
import { mergeRecord } from '../../../src/sync/merge/index.ts';
import { PairSync } from '../../../src/sync/pair-sync.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { storedJobs, waitFor } from '../../support/pg-jobs.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { FakeCrm, FakeReferrals, testMapping } from '../../unit/sync/sync-fakes.ts';

const HOUR = 3_600_000;

/** Referrals whose reads can be made to fail or to dawdle, counting the syncs of each referral running at once. */
class ScriptedReferrals extends FakeReferrals {
  failures: Array<Error & { retryable?: boolean; retryAfterMs?: number }> = [];
  readonly reads: string[] = [];
  readonly active = new Map<string, number>();
  maxActive = 0;
  listed = 0;
  readDelayMs = 0;

  override async get(id: string): ReturnType<FakeReferrals['get']> {
    this.reads.push(id);
    const failure = this.failures.shift();
    if (failure) throw failure;
    const now = (this.active.get(id) ?? 0) + 1;
    this.active.set(id, now);
    this.maxActive = Math.max(this.maxActive, now);
    try {
      if (this.readDelayMs > 0) await sleep(this.readDelayMs);
      return await super.get(id);
    } finally {
      this.active.set(id, (this.active.get(id) ?? 1) - 1);
    }
  }

  /** The reconciler's listing: counted, empty. */
  async *list(): AsyncGenerator<never> {
    this.listed++;
    yield* [];
  }
}

/** Customers created by name, across every connector sharing `accounts`; slow to create, so racing creates overlap. */
class AccountCrm extends FakeCrm {
  constructor(
    name: string,
    private readonly accounts: Map<string, number>,
  ) {
    super(name);
  }

  override async ensureCustomer(profile?: { name: string }): Promise<CustomerRefs> {
    const key = (profile?.name ?? '').toLowerCase();
    if (!this.accounts.has(key)) {
      await sleep(50);
      this.accounts.set(key, (this.accounts.get(key) ?? 0) + 1);
    } else await sleep(0);
    return { account: { entity: 'account', id: `acct-${key}` }, contacts: [], created: [] };
  }

  override async changesSince(): Promise<never> {
    return Promise.resolve({ refs: [], cursor: 'c' }) as never;
  }
}

const databases: TestDatabase[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const database of databases.splice(0)) await database.drop();
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase('cosell_engine');
  databases.push(db);
  return db;
}

async function openStore(url: string): Promise<PostgresStore> {
  const store = await PostgresStore.open({ url, pool: { max: 10 }, applicationName: 'cosell-engine-test' });
  cleanups.push(() => store.close());
  return store;
}

function config(sync: Record<string, unknown> = {}) {
  const parsed = parseConfig('test.yaml', { partnerCenter: { referralsApiUrl: 'http://127.0.0.1:1', webhooksApiUrl: 'http://127.0.0.1:1' } });
  return { ...parsed, sync: { ...parsed.sync, concurrency: 4, reconcileOnStart: false, reconcileIntervalSeconds: 3600, microsoftSideRefreshHours: 0, ...sync } };
}

function connections(crm: FakeCrm): Map<string, LoadedConnection> {
  const connection = { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: true } } as unknown as LoadedConnection;
  return new Map([[crm.name, connection]]);
}

function engineOn(store: PostgresStore, referrals: FakeReferrals, crm: FakeCrm, more: Partial<Parameters<typeof createEngine>[0]> = {}): Engine {
  const engine = createEngine({ config: config(), store, referrals: referrals as never, connections: connections(crm), logger: silentLogger(), ...more });
  cleanups.push(() => engine.stop());
  return engine;
}

const retryable = (message: string, retryAfterMs?: number) => Object.assign(new Error(message), { retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });

describe('the engine on the PostgreSQL store', () => {
  it('runs jobs through the runner, retries after our delay, and dead-letters a permanent failure', async () => {
    const store = await openStore((await database()).url);
    const referrals = new ScriptedReferrals();
    const crm = new FakeCrm();
    referrals.put({ id: 'ref-ok', name: 'Synced deal' });
    referrals.put({ id: 'ref-retry', name: 'Retried deal' });
    referrals.put({ id: 'ref-dead', name: 'Dead deal' });
    const outcomes: string[] = [];
    const engine = engineOn(store, referrals, crm, { onJobOutcome: (outcome) => outcomes.push(outcome) });
    expect(store.jobs.kind).toBe('runner');
    engine.start();

    await store.jobs.enqueue([{ connection: 'crm', cause: 'event', referralId: 'ref-ok' }]);
    await engine.worker.drain();
    expect(await store.sync.getLink('crm', 'ref-ok')).not.toBeNull();

    // Retry-After of an hour: the job waits by our delay (graphile-worker's own backoff would be seconds), one attempt counted.
    referrals.failures.push(retryable('HTTP 503', HOUR));
    const before = Date.now();
    await store.jobs.enqueue([{ connection: 'crm', cause: 'event', referralId: 'ref-retry' }]);
    await engine.worker.drain();
    const [retried] = await storedJobs(store.pool);
    expect(retried).toMatchObject({ key: 'crm:ref:ref-retry', lockedBy: null, payload: { attempts: 1, lastError: 'HTTP 503' } });
    expect(retried?.runAt).toBeGreaterThan(before + HOUR / 2);

    referrals.failures.push(Object.assign(new Error('400 invalid referral'), { retryable: false }));
    await store.jobs.enqueue([{ connection: 'crm', cause: 'event', referralId: 'ref-dead' }]);
    await engine.worker.drain();
    const dead = await store.sync.deadLetters({ open: true, limit: 10 });
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ referralId: 'ref-dead', error: '400 invalid referral', attempts: 1 });
    expect((await storedJobs(store.pool)).map((job) => job.key)).toEqual(['crm:ref:ref-retry']);
    expect(outcomes).toEqual(['done', 'retry', 'dead']);
  });

  it('postpones a job of an unavailable connection without running it or counting an attempt', async () => {
    const store = await openStore((await database()).url);
    const referrals = new ScriptedReferrals();
    const crm = new FakeCrm();
    referrals.put({ id: 'ref-1', name: 'Waiting deal' });
    const availability = new ConnectionAvailability({ logger: silentLogger(), policy: { baseDelayMs: HOUR, maxDelayMs: HOUR } });
    await availability.checkAtStart('crm', 'crm.example', () => Promise.reject(retryable('connect ECONNREFUSED')));
    const engine = engineOn(store, referrals, crm, { availability });
    engine.start();
    const before = Date.now();
    await store.jobs.enqueue([{ connection: 'crm', cause: 'event', referralId: 'ref-1' }]);
    await waitFor(async () => (await storedJobs(store.pool))[0]?.payload.lastError?.startsWith('waiting for crm') === true, 'the postponement');
    await engine.worker.drain();
    const [waiting] = await storedJobs(store.pool);
    expect(waiting).toMatchObject({ lockedBy: null, payload: { attempts: 0 } });
    expect(waiting?.runAt).toBeGreaterThan(before + 500);
    expect(referrals.reads).toEqual([]);
    expect(await store.sync.deadLetters({ open: true, limit: 10 })).toEqual([]);
  });

  it('two engines on one database never sync one pair at once, and only the leader reconciles', async () => {
    const db = await database();
    const [storeA, storeB] = [await openStore(db.url), await openStore(db.url)];
    const referrals = new ScriptedReferrals();
    referrals.readDelayMs = 20;
    const accounts = new Map<string, number>();
    const ids = ['r1', 'r2', 'r3'];
    for (const id of ids) referrals.put({ id, name: `Deal ${id}` });
    const listedBy = { a: new ScriptedReferrals(), b: new ScriptedReferrals() };
    // Each engine reads the shared referrals, but lists through its own counter.
    const viewFor = (counter: ScriptedReferrals) =>
      new Proxy(referrals, { get: (target, property, receiver) => (property === 'list' ? counter.list.bind(counter) : Reflect.get(target, property, receiver)) });
    const leadership = (name: string) => {
      const l = new PostgresLeadership({ connection: db.url, log: silentLogger(), retryMs: 100, applicationName: name });
      cleanups.push(() => l.stop());
      return l;
    };
    const [leaderA, leaderB] = [leadership('a'), leadership('b')];
    await leaderA.start();
    await leaderB.start();
    expect([leaderA.isLeader, leaderB.isLeader]).toEqual([true, false]);
    const reconcileNow = { ...config(), sync: { ...config().sync, reconcileOnStart: true } };
    // One CRM behind both instances (as in production): both engines reach the same records.
    const crm = new AccountCrm('crm', accounts);
    const engineA = createEngine({ config: reconcileNow, store: storeA, referrals: viewFor(listedBy.a) as never, connections: connections(crm), logger: silentLogger(), leadership: leaderA });
    const engineB = createEngine({ config: reconcileNow, store: storeB, referrals: viewFor(listedBy.b) as never, connections: connections(crm), logger: silentLogger(), leadership: leaderB });
    cleanups.push(() => engineA.stop(), () => engineB.stop());
    engineA.start();
    engineB.start();

    for (let round = 0; round < 5; round++) {
      await Promise.all([storeA.jobs.enqueue(ids.map((referralId) => ({ connection: 'crm', cause: 'event' as const, referralId }))), storeB.jobs.enqueue(ids.map((referralId) => ({ connection: 'crm', cause: 'event' as const, referralId })))]);
      await sleep(15);
    }
    await waitFor(() => listedBy.a.listed > 0, "the leader's reconcile pass");
    await engineA.worker.drain();
    await engineB.worker.drain();
    expect(referrals.maxActive).toBe(1);
    for (const id of ids) expect(await storeA.sync.getLink('crm', id)).not.toBeNull();
    expect(listedBy.b.listed).toBe(0);

    // The leader steps down: the follower takes over and reconciles; the old leader does not any more.
    await leaderA.stop();
    await waitFor(() => listedBy.b.listed > 0, "the new leader's reconcile pass");
    const passesOfA = listedBy.a.listed;
    await engineA.reconciler.stop();
    expect(listedBy.a.listed).toBe(passesOfA);
  });

  it('creates one customer account when two stores sync deals of the same new customer at once', async () => {
    const db = await database();
    const [storeA, storeB] = [await openStore(db.url), await openStore(db.url)];
    const referrals = new FakeReferrals();
    referrals.put({ id: 'r1', name: 'First deal', customerProfile: { name: 'Contoso' } });
    referrals.put({ id: 'r2', name: 'Second deal', customerProfile: { name: 'Contoso' } });
    const accounts = new Map<string, number>();
    const crm = new AccountCrm('crm', accounts);
    const sync = (store: PostgresStore) => new PairSync({ store, referrals, connections: connections(crm), merge: mergeRecord, logger: silentLogger() });
    const job = (referralId: string): Job => ({ key: `crm:ref:${referralId}`, connection: 'crm', referralId, crmEntity: null, crmId: null, cause: 'event', microsoftSide: true, generation: 0, attempts: 0, lastError: null });
    await Promise.all([sync(storeA).handler(job('r1')), sync(storeB).handler(job('r2'))]);
    expect(accounts).toEqual(new Map([['contoso', 1]]));
  });

  it("serialises one store's backfill of a referral with another store's job of the same pair", async () => {
    const db = await database();
    const [storeA, storeB] = [await openStore(db.url), await openStore(db.url)];
    const referrals = new ScriptedReferrals();
    referrals.put({ id: 'r1', name: 'Deal' });
    const crm = new FakeCrm();
    const syncA = new PairSync({ store: storeA, referrals, connections: connections(crm), merge: mergeRecord, logger: silentLogger() });
    const syncB = new PairSync({ store: storeB, referrals, connections: connections(crm), merge: mergeRecord, logger: silentLogger() });
    const events: string[] = [];
    let releaseBackfill: () => void = () => undefined;
    let backfillHolding: () => void = () => undefined;
    const holding = new Promise<void>((resolve) => (backfillHolding = resolve));
    const backfill = syncA.exclusive(['r1'], async () => {
      events.push('backfill start');
      backfillHolding();
      await new Promise<void>((resolve) => (releaseBackfill = resolve));
      events.push('backfill end');
    });
    await holding;
    const job = syncB.handler({ key: 'crm:ref:r1', connection: 'crm', referralId: 'r1', crmEntity: null, crmId: null, cause: 'event', microsoftSide: true, generation: 0, attempts: 0, lastError: null }).then(() => events.push('job done'));
    // The job reads the referral only once it holds the pair: nothing yet while the backfill holds it.
    await sleep(200);
    expect(referrals.reads).toEqual([]);
    releaseBackfill();
    await Promise.all([backfill, job]);
    expect(events).toEqual(['backfill start', 'backfill end', 'job done']);
  });
});
