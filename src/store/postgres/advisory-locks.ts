import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { InProcessLocks } from '../in-process-locks.ts';
import type { KeyedLocks } from '../types.ts';

/**
 * KeyedLocks across every instance on the database: session advisory locks (`pg_advisory_lock`) on one client held
 * for the task. A lost connection ends the session, and PostgreSQL frees its locks, so a crashed instance never
 * leaves a key held.
 *
 * - In front of them, an in-process lock on the same keys: tasks of this process queue in memory instead of each one
 *   holding a connection while it waits in PostgreSQL.
 * - Nested use (a job holding its pair key takes a customer key) reuses the session the outer task holds (advisory
 *   locks are reentrant per session), so a task never holds two connections and a full pool cannot deadlock it.
 *   Callers nest keys in one fixed order (pair keys, then customer keys); each set is taken sorted.
 * - The connections come from a pool of their own (`pool`, see PostgresStore): a session waiting for another
 *   instance's key must not take a connection its holder needs for its own queries.
 */
export class PostgresAdvisoryLocks implements KeyedLocks {
  private readonly local = new InProcessLocks();
  private readonly session = new AsyncLocalStorage<pg.PoolClient>();

  constructor(private readonly pool: pg.Pool) {}

  run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    if (sorted.length === 0) return task();
    return this.local.run(sorted, () => this.holding(sorted, task));
  }

  private async holding<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const outer = this.session.getStore();
    const client = outer ?? (await this.pool.connect());
    let taken = 0;
    let broken: Error | undefined;
    try {
      for (const key of keys) {
        await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockText(key)]);
        taken++;
      }
      return await (outer ? task() : this.session.run(client, task));
    } finally {
      try {
        // Newest first; a session lock is counted, so a key the outer task also holds stays held by it.
        for (const key of keys.slice(0, taken).reverse()) await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockText(key)]);
      } catch (error) {
        // The session is gone or unusable: destroying the client ends it, which frees whatever it still held.
        broken = error instanceof Error ? error : new Error(String(error));
      }
      if (!outer) client.release(broken);
    }
  }
}

/**
 * The text hashed for a key: namespaced (other advisory locks hash job keys, see job-enqueue.ts) and JSON-quoted,
 * since a key may hold a NUL character, which PostgreSQL text cannot carry.
 */
function lockText(key: string): string {
  return `cosell:lock:${JSON.stringify(key)}`;
}
