import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Store } from '../types.ts';
import { SqliteInbox } from './inbox.ts';
import { SqliteJobQueue } from './jobs.ts';
import { openDatabase, type SqlDatabase } from './driver.ts';
import { migrate } from './migrations.ts';
import { SqliteSyncState } from './sync-state.ts';
import { StoreCompactor } from './retention.ts';

export interface SqliteStoreOptions {
  path: string;
  synchronous: 'full' | 'normal';
}

export class SqliteStore implements Store {
  readonly inbox: SqliteInbox;
  readonly jobs: SqliteJobQueue;
  readonly sync: SqliteSyncState;
  /** Deletes what `store.retention` no longer keeps (run on a schedule by the service). */
  readonly compactor: StoreCompactor;

  private constructor(private readonly db: SqlDatabase) {
    this.jobs = new SqliteJobQueue(db);
    this.inbox = new SqliteInbox(db, this.jobs);
    this.sync = new SqliteSyncState(db, this.jobs);
    this.compactor = new StoreCompactor(db);
  }

  static open(options: SqliteStoreOptions): SqliteStore {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const db = openDatabase(options.path);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // Another process (a CLI command next to the running service) may hold the write lock briefly.
    db.exec('PRAGMA busy_timeout = 5000');
    db.exec('PRAGMA foreign_keys = ON');
    migrate(db);
    // The embedded store has one owner process: leases left by a previous (crashed) run are void now.
    db.prepare('UPDATE jobs SET lease_until = NULL WHERE lease_until IS NOT NULL').run();
    return new SqliteStore(db);
  }

  /**
   * For commands that look while the service runs: no migrations, no lease reset, no writes. Null when there is no
   * database yet.
   */
  static openReadOnly(path: string): SqliteStore | null {
    if (path !== ':memory:' && !existsSync(path)) return null;
    const db = openDatabase(path, { readonly: true, fileMustExist: true });
    db.exec('PRAGMA busy_timeout = 5000');
    return new SqliteStore(db);
  }

  async close(): Promise<void> {
    this.inbox.flush();
    this.db.close();
  }
}
