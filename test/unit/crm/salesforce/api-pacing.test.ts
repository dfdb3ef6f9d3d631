import { describe, expect, it } from 'vitest';
import { ApiAllocationPacer, DAY_MS, type CallLane } from '../../../../src/crm/salesforce/api-pacing.ts';
import type { ApiUsageSnapshot } from '../../../../src/crm/salesforce/api-usage.ts';

/** A pacer on a fake clock whose sleeps advance the clock; `waits` lists each call's wait. */
function paced(usage: ApiUsageSnapshot | undefined, clockMovesWhileWaiting = true) {
  let now = 1_000_000;
  const state = { usage };
  const pacer = new ApiAllocationPacer(() => state.usage, {
    now: () => now,
    sleep: (ms) => {
      if (clockMovesWhileWaiting) now += ms;
      return Promise.resolve();
    },
  });
  const waits: number[] = [];
  const take = async (lane: CallLane) => {
    waits.push(await pacer.take(lane));
  };
  return { state, waits, take, advance: (ms: number) => (now += ms) };
}

describe('ApiAllocationPacer (Salesforce daily allocation)', () => {
  it('does not pace below 90 % of the allocation, nor before any answer reported it', async () => {
    const p = paced(undefined);
    await p.take('background');
    p.state.usage = { used: 13_499, max: 15_000 };
    for (let i = 0; i < 5; i++) await p.take('background');
    expect(p.waits).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('from 90 % spaces every call at the rate the allocation refills (24 h / max)', async () => {
    const p = paced({ used: 13_500, max: 15_000 });
    const spacing = DAY_MS / 15_000;
    await p.take('hot');
    await p.take('background');
    await p.take('hot');
    expect(p.waits).toEqual([0, spacing, spacing]);
  });

  it('from 98 % the hot path keeps that pace while background calls wait a minute between them', async () => {
    // All three asked at the same instant (the clock does not move while they wait).
    const p = paced({ used: 14_700, max: 15_000 }, false);
    const spacing = DAY_MS / 15_000;
    await p.take('background');
    await p.take('background');
    await p.take('hot');
    // The hot call waits behind the background calls' places in line, not behind their minute.
    expect(p.waits).toEqual([0, 60_000, 2 * spacing]);
  });

  it('stops pacing once usage reported below 90 % again', async () => {
    const p = paced({ used: 14_000, max: 15_000 });
    await p.take('hot');
    await p.take('hot');
    p.state.usage = { used: 10_000, max: 15_000 };
    await p.take('hot');
    expect(p.waits).toEqual([0, DAY_MS / 15_000, 0]);
  });
});
