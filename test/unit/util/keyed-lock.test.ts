import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../../src/util/keyed-lock.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Tasks that log their start and end around a tick, so a test can see what overlapped. */
function recorder() {
  const log: string[] = [];
  const task = (name: string) => async () => {
    log.push(`${name} start`);
    await tick();
    log.push(`${name} end`);
    return name;
  };
  return { log, task };
}

describe('KeyedLock', () => {
  it('runs tasks of one key one after another, other keys alongside, and forgets idle keys', async () => {
    const lock = new KeyedLock();
    const { log, task } = recorder();
    const results = await Promise.all([lock.run('a', task('a1')), lock.run('a', task('a2')), lock.run('b', task('b1'))]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('a1 end')).toBeLessThan(log.indexOf('a2 start'));
    expect(log.indexOf('b1 start')).toBeLessThan(log.indexOf('a1 end'));
    expect(lock.size).toBe(0);
  });

  it('passes a failure to its caller and still runs the next task', async () => {
    const lock = new KeyedLock();
    const failing = lock.run('a', async () => {
      await tick();
      throw new Error('boom');
    });
    const next = lock.run('a', async () => 'ran');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
    expect(lock.size).toBe(0);
  });

  it('holds several keys at once without deadlocking against callers that take them in another order', async () => {
    const lock = new KeyedLock();
    const { log, task: hold } = recorder();
    const results = await Promise.all([
      lock.runAll(['b', 'a', 'a'], hold('ab')),
      lock.runAll(['a', 'b'], hold('ba')),
      lock.run('b', hold('b')),
      lock.run('c', hold('c')),
    ]);
    expect(results).toEqual(['ab', 'ba', 'b', 'c']);
    // Whoever holds a and b runs alone with respect to a and b; c is independent.
    expect(log.indexOf('ab end')).toBeLessThan(log.indexOf('ba start'));
    expect(log.indexOf('c start')).toBeLessThan(log.indexOf('ab end'));
    expect(await lock.runAll([], async () => 'no keys')).toBe('no keys');
    expect(lock.size).toBe(0);
  });
});
