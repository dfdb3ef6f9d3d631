import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { PARTNER_CENTER_WATERMARK, Reconciler, ReconcileStopped } from '../../../src/sync/reconciler.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { referral } from './sync-fakes.ts';

describe('Reconciler.stop', () => {
  it('ends the pass under way at its next batch, leaving the watermark for the next pass', async () => {
    const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const listing = ['r1', 'r2', 'r3'].map((id) => referral({ id, updatedDateTime: '2026-01-01T10:00:00.000Z' }));
    let stopping: Promise<void> | undefined;
    const reconciler: Reconciler = new Reconciler({
      store,
      referrals: {
        async *list() {
          yield* listing;
        },
      } as never,
      connectors: [{ name: 'crm' } as never],
      entities: [],
      logger: silentLogger(),
      intervalMs: 3_600_000,
      overlapMs: 0,
      initialLookbackMs: 3_600_000,
      batchSize: 1,
      // The first batch is being queued when leadership is lost.
      queueRoom: async () => {
        stopping ??= reconciler.stop();
      },
    });
    await expect(reconciler.runOnce()).rejects.toBeInstanceOf(ReconcileStopped);
    await stopping;
    expect(await store.jobs.depth()).toBe(1);
    expect(await store.sync.getWatermark(PARTNER_CENTER_WATERMARK)).toBeNull();
    await store.close();
  });
});
