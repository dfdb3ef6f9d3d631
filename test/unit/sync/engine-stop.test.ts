import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import type { ChangeSink } from '../../../src/crm/connector.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { createEngine, type LoadedConnection } from '../../../src/sync/engine.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { FakeCrm, FakeReferrals, testMapping } from './sync-fakes.ts';

/** A CRM whose change stream finishes subscribing only when the test says so (a slow CometD handshake). */
class SlowStreamCrm extends FakeCrm {
  stopped = 0;
  private subscribed: ((stop: () => Promise<void>) => void) | undefined;
  startChangeStream(_sink: ChangeSink): Promise<() => Promise<void>> {
    return new Promise((resolve) => (this.subscribed = resolve));
  }
  finishSubscribing(): void {
    this.subscribed?.(async () => {
      this.stopped++;
    });
  }
}

describe('engine stop', () => {
  it('stops a change stream that finished subscribing only after stop() began', async () => {
    const config = parseConfig('test.yaml', { partnerCenter: { referralsApiUrl: 'http://127.0.0.1:1', webhooksApiUrl: 'http://127.0.0.1:1' }, sync: { reconcileIntervalSeconds: 3600 } });
    const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const crm = new SlowStreamCrm();
    const connection = { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: true } } as unknown as LoadedConnection;
    const engine = createEngine({ config: { ...config, sync: { ...config.sync, reconcileOnStart: false } }, store, referrals: new FakeReferrals() as never, connections: new Map([[crm.name, connection]]), logger: silentLogger() });
    engine.start();
    const stopping = engine.stop();
    crm.finishSubscribing();
    await stopping;
    expect(crm.stopped).toBe(1);
    await store.close();
  });
});
