import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { ChangeSink } from '../../../src/crm/connector.ts';
import { LeadershipListeners, type Leadership } from '../../../src/store/leadership.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { createEngine, type LoadedConnection } from '../../../src/sync/engine.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { FakeCrm, FakeReferrals, testMapping } from './sync-fakes.ts';

/** Leadership the test flips by hand. */
class ManualLeadership implements Leadership {
  isLeader = false;
  private readonly listeners = new LeadershipListeners(() => undefined);
  onChange(listener: (leader: boolean) => void): () => void {
    return this.listeners.add(listener);
  }
  set(leader: boolean): void {
    this.isLeader = leader;
    this.listeners.emit(leader);
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/** A CRM whose change stream subscribes when the test says so; counts streams started, running and stopped. */
class StreamCrm extends FakeCrm {
  started = 0;
  running = 0;
  private pending: Array<() => void> = [];
  startChangeStream(_sink: ChangeSink): Promise<() => Promise<void>> {
    this.started++;
    return new Promise((resolve) =>
      this.pending.push(() => {
        this.running++;
        resolve(async () => {
          this.running--;
        });
      }),
    );
  }
  override async changesSince(): Promise<never> {
    return { refs: [], cursor: 'c' } as never;
  }
  subscribeAll(): void {
    for (const finish of this.pending.splice(0)) finish();
  }
}

class CountingReferrals extends FakeReferrals {
  listed = 0;
  async *list(): AsyncGenerator<never> {
    this.listed++;
    yield* [];
  }
}

function setup() {
  const parsed = parseConfig('test.yaml', { partnerCenter: { referralsApiUrl: 'http://127.0.0.1:1', webhooksApiUrl: 'http://127.0.0.1:1' } });
  const config = { ...parsed, sync: { ...parsed.sync, reconcileOnStart: true, reconcileIntervalSeconds: 3600, microsoftSideRefreshHours: 0 } };
  const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
  const crm = new StreamCrm();
  const referrals = new CountingReferrals();
  const leadership = new ManualLeadership();
  const connection = { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: true } } as unknown as LoadedConnection;
  const engine = createEngine({ config, store, referrals: referrals as never, connections: new Map([[crm.name, connection]]), logger: silentLogger(), leadership });
  return { store, crm, referrals, leadership, engine };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('the engine under leadership', () => {
  it('runs jobs as a follower, and the reconciler and change streams only while leading', async () => {
    const { store, crm, referrals, leadership, engine } = setup();
    engine.start();
    await settle();
    expect(engine.worker.started).toBe(true);
    expect(crm.started).toBe(0);
    expect(referrals.listed).toBe(0);

    leadership.set(true);
    crm.subscribeAll();
    await engine.reconciler.runOnce();
    expect(crm.started).toBe(1);
    expect(crm.running).toBe(1);
    expect(referrals.listed).toBeGreaterThan(0);

    leadership.set(false);
    await settle();
    expect(crm.running).toBe(0);
    const passes = referrals.listed;
    await engine.stop();
    expect(referrals.listed).toBe(passes);
    await store.close();
  });

  it('a step-down racing a start still subscribing leaves no stream running', async () => {
    const { store, crm, leadership, engine } = setup();
    engine.start();
    leadership.set(true);
    leadership.set(false);
    leadership.set(true);
    leadership.set(false);
    crm.subscribeAll();
    await settle();
    crm.subscribeAll();
    await settle();
    expect(crm.started).toBe(2);
    expect(crm.running).toBe(0);
    await engine.stop();
    expect(crm.running).toBe(0);
    await store.close();
  });
});
