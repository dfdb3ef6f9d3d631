import { describe, expect, it } from 'vitest';
import { memoizeSuccess } from '../../../src/util/memoize-success.ts';

describe('memoizeSuccess', () => {
  it('shares one call among concurrent and later callers', async () => {
    let calls = 0;
    const get = memoizeSuccess(async () => ++calls);
    expect(await Promise.all([get(), get(), get()])).toEqual([1, 1, 1]);
    expect(await get()).toBe(1);
    expect(calls).toBe(1);
  });

  it('forgets a failure so the next call tries again', async () => {
    let calls = 0;
    const get = memoizeSuccess(async () => {
      calls++;
      if (calls === 1) throw new Error('transient');
      return 'ok';
    });
    await expect(get()).rejects.toThrow('transient');
    expect(await get()).toBe('ok');
    expect(await get()).toBe('ok');
    expect(calls).toBe(2);
  });
});
