/**
 * Runs tasks that share a key one after another (within this process); tasks with different keys run in parallel.
 * A failed task does not block the next one.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /**
   * Runs the task holding every key. Keys are taken one by one in sorted order, so two callers holding several keys
   * can never wait on each other in a cycle (single-key callers never wait while holding one).
   */
  runAll<T>(keys: Iterable<string>, task: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const acquire = (index: number): Promise<T> => {
      const key = sorted[index];
      return key === undefined ? task() : this.run(key, () => acquire(index + 1));
    };
    return acquire(0);
  }

  /** Keys with a task queued or running (for tests and diagnostics). */
  get size(): number {
    return this.tails.size;
  }
}
