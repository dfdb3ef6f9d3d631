import { describe, expect, it } from 'vitest';
import { CrmIdWriteGate } from '../../../src/sync/run/crm-id-write-gate.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

/** A failure as PartnerCenterApiError reports throttling: status 429, Retry-After in ms. */
const throttled = (retryAfterMs: number) => Object.assign(new Error('429 throttled'), { status: 429, retryAfterMs });

describe('CrmIdWriteGate', () => {
  it('keeps at most its ceiling of writes in flight, and runs them all', async () => {
    const gate = new CrmIdWriteGate(4);
    let inFlight = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        gate.run(async () => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await tick();
          inFlight--;
          return i;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(peak).toBe(4);
  });

  it('halves its window on a 429, holds writes until Retry-After has passed, and tries the write again', async () => {
    let now = 1_000;
    const gate = new CrmIdWriteGate(8, () => now);
    let calls = 0;
    const write = gate.run(async () => {
      calls++;
      if (calls === 1) throw throttled(50);
      return 'written';
    });
    await tick();
    expect(gate.limit).toBe(4);
    // Held: the clock has not passed Retry-After.
    let started = false;
    const next = gate.run(async () => {
      started = true;
      return 'next';
    });
    await tick();
    expect(started).toBe(false);
    now += 50;
    await expect(write).resolves.toBe('written');
    await expect(next).resolves.toBe('next');
    expect(calls).toBe(2);
  });

  it('gives up on a write still throttled after its retries, and lets other failures through at once', async () => {
    const gate = new CrmIdWriteGate(2);
    let throttledCalls = 0;
    await expect(
      gate.run(async () => {
        throttledCalls++;
        throw throttled(0);
      }),
    ).rejects.toThrow('429');
    expect(throttledCalls).toBe(5);
    let failing = 0;
    await expect(
      gate.run(async () => {
        failing++;
        throw Object.assign(new Error('412'), { status: 412 });
      }),
    ).rejects.toThrow('412');
    expect(failing).toBe(1);
    expect(gate.limit).toBe(1);
  });
});
