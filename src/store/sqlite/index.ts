import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../../config/errors.ts';
import type { Store } from '../types.ts';
import { InProcessLocks } from '../in-process-locks.ts';
import { SqliteDeadLetters } from './dead-letters.ts';
import { SqliteConsoleReads } from './console-reads.ts';
import { SqliteCredentials } from './credentials.ts';
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
  readonly console: SqliteConsoleReads;
  /** Entra's rotated refresh token (sealed) and when it was last used. */
  readonly credentials: SqliteCredentials;
  /** Deletes what `store.retention` no longer keeps (run on a schedule by the service). */
  readonly compactor: StoreCompactor;
  /** One process owns the file, so in-process locks exclude everyone who could contend. */
  readonly locks = new InProcessLocks();

  private constructor(private readonly db: SqlDatabase) {
    const deadLetters = new SqliteDeadLetters(db);
    this.jobs = new SqliteJobQueue(db, deadLetters);
    this.inbox = new SqliteInbox(db, this.jobs);
    this.sync = new SqliteSyncState(db, this.jobs, deadLetters);
    this.console = new SqliteConsoleReads(db);
    this.credentials = new SqliteCredentials(db);
    this.compactor = new StoreCompactor(db);
  }

  static open(options: SqliteStoreOptions): SqliteStore {
    if (options.path !== ':memory:') prepareStoreFile(options.path);
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

  /** Commits that wrote since the store opened (see SqlDatabase.writeCommits). */
  get writeCommits(): number {
    return this.db.writeCommits;
  }

  async close(): Promise<void> {
    this.inbox.flush();
    this.db.close();
  }
}

/** Owner-only: the store holds deal data (names, values, notes, contacts) and the sync audit. */
const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;

/**
 * Creates the store's directory (0700) and file (0600) before SQLite opens it, and tightens an existing file that is
 * readable by others. SQLite gives the -wal and -shm files the database file's permissions when it creates them;
 * ones left by an earlier run are tightened here too. A path that cannot be used is invalid configuration.
 */
function prepareStoreFile(path: string): void {
  const directory = dirname(path);
  try {
    mkdirSync(directory, { recursive: true, mode: DIRECTORY_MODE });
  } catch (error) {
    throw new ConfigError('', 'store.path', `cannot create the directory ${directory} for the store (${describeFsError(error)})`);
  }
  try {
    closeSync(openSync(path, 'a', FILE_MODE));
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      if (existsSync(file)) chmodSync(file, FILE_MODE);
    }
  } catch (error) {
    throw new ConfigError('', 'store.path', `cannot create or open the store file ${path} (${describeFsError(error)})`);
  }
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const meaning: Record<string, string> = {
    EEXIST: 'a file is in the way of the directory',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'the path is a directory',
    EROFS: 'read-only file system',
  };
  return code ? `${meaning[code] ?? 'error'}: ${code}` : error instanceof Error ? error.message : String(error);
}
