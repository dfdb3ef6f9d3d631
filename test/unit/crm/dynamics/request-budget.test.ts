import { describe, expect, it } from 'vitest';
import { RequestBudget } from '../../../../src/crm/dynamics/request-budget.ts';

describe('Dataverse request budget', () => {
  it('lets 90 % of the window through at once, then waits until the oldest request leaves the window', async () => {
    let now = 0;
    const waits: number[] = [];
    const budget = new RequestBudget({
      limit: 10,
      windowMs: 1_000,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    for (let i = 0; i < 9; i++) {
      await budget.take();
      now += 10;
    }
    expect(waits).toEqual([]);
    expect(budget.used).toBe(9);
    // The 10th would reach the limit's 90 %: it waits for the first (taken at 0) to leave the window.
    await budget.take();
    expect(waits).toEqual([1_000 - 90]);
    expect(now).toBe(1_000);
    expect(budget.used).toBe(9);
  });
});
