import { KeyedLock } from '../util/keyed-lock.ts';
import type { KeyedLocks } from './types.ts';

/** KeyedLocks within one process: enough when one process owns the store (SQLite), and the fast path in front of others. */
export class InProcessLocks implements KeyedLocks {
  private readonly lock = new KeyedLock();

  run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    return this.lock.runAll(keys, task);
  }

  /** Keys with a task queued or running (for tests and diagnostics). */
  get size(): number {
    return this.lock.size;
  }
}
