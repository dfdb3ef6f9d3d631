import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import BetterSqlite3 from 'better-sqlite3';

/*
 * The SQLite calls the store makes, over two drivers:
 *
 * - better-sqlite3 on Node 20 and 22 (Node 20 has no built-in SQLite; Node 22's is experimental and warns).
 * - Node's built-in `node:sqlite` from Node 24. better-sqlite3 12 (the last line that supports Node 20) wraps its
 *   objects in the classic node::ObjectWrap, whose destructor Node 24 made assert a current Environment: a Statement
 *   or Database collected by the GC at the wrong moment aborts the process ("Assertion failed: (env) != nullptr",
 *   seen here in a test worker, reported upstream for long-running services). better-sqlite3 13 fixes it but needs
 *   Node 22, so the built-in driver takes over where the bug bites.
 *
 * `COSELL_SQLITE_DRIVER=better-sqlite3|node` forces one (e.g. to exercise `node:sqlite` on Node 22).
 */

export type SqlValue = string | number | bigint | null | Uint8Array;

export interface SqlStatement<P extends SqlValue[] = SqlValue[], R = unknown> {
  run(...params: P): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

export interface SqlDatabase {
  readonly driver: 'better-sqlite3' | 'node';
  /** Prepared once per SQL text and kept for the connection's life. */
  prepare<P extends SqlValue[] = SqlValue[], R = unknown>(sql: string): SqlStatement<P, R>;
  exec(sql: string): void;
  /** All or nothing; a transaction inside another becomes a savepoint. */
  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T;
  /**
   * Commits that changed a row since the connection opened (a transaction once, a statement outside one once): each is
   * a WAL append, fsync'd with `synchronous = FULL`. For benchmarks and tests counting what a sync costs.
   */
  readonly writeCommits: number;
  close(): void;
}

export interface OpenOptions {
  readonly?: boolean;
  fileMustExist?: boolean;
}

export function openDatabase(path: string, options: OpenOptions = {}): SqlDatabase {
  return chooseDriver() === 'node' ? new NodeSqliteDatabase(path, options) : new BetterSqliteDatabase(path, options);
}

function chooseDriver(): 'better-sqlite3' | 'node' {
  const forced = process.env.COSELL_SQLITE_DRIVER;
  if (forced === 'node' || forced === 'better-sqlite3') return forced;
  return Number(process.versions.node.split('.')[0]) >= 24 ? 'node' : 'better-sqlite3';
}

/**
 * Counts commits that wrote: a transaction during which SQLite's total_changes() moved, or a statement run outside one
 * that changed rows. A transaction whose statements changed nothing (an upsert whose WHERE kept the row) appends
 * nothing to the WAL, so it is not counted.
 */
class WriteCommitCounter {
  commits = 0;

  constructor(private readonly totalChanges: () => number) {}

  /** A statement run outside a transaction: a commit of its own. */
  ran(changes: number | bigint, inTransaction: boolean): void {
    if (!inTransaction && Number(changes) > 0) this.commits++;
  }

  /** Runs an outermost transaction and counts it when it wrote. */
  outermost<T>(run: () => T): T {
    const before = this.totalChanges();
    const result = run();
    if (this.totalChanges() !== before) this.commits++;
    return result;
  }
}

/** Keeps every statement for the connection's life: none becomes garbage the GC has to finalize. */
class StatementCache<S> {
  private readonly statements = new Map<string, S>();
  constructor(private readonly make: (sql: string) => S) {}
  get(sql: string): S {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.make(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
  clear(): void {
    this.statements.clear();
  }
}

class BetterSqliteDatabase implements SqlDatabase {
  readonly driver = 'better-sqlite3';
  private readonly db: BetterSqlite3.Database;
  private readonly statements: StatementCache<SqlStatement>;
  private readonly counter: WriteCommitCounter;

  constructor(path: string, options: OpenOptions) {
    this.db = new BetterSqlite3(path, { readonly: options.readonly ?? false, fileMustExist: options.fileMustExist ?? false });
    const totalChanges = this.db.prepare('SELECT total_changes() AS n').pluck();
    this.counter = new WriteCommitCounter(() => Number(totalChanges.get()));
    this.statements = new StatementCache((sql): SqlStatement => {
      const statement = this.db.prepare(sql);
      return {
        run: (...params) => {
          const result = statement.run(...params);
          this.counter.ran(result.changes, this.db.inTransaction);
          return result;
        },
        get: (...params) => statement.get(...params),
        all: (...params) => statement.all(...params),
      };
    });
  }

  get writeCommits(): number {
    return this.counter.commits;
  }

  prepare<P extends SqlValue[], R>(sql: string): SqlStatement<P, R> {
    return this.statements.get(sql) as unknown as SqlStatement<P, R>;
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
    const transaction = this.db.transaction(fn) as unknown as (...args: A) => T;
    return (...args: A): T => (this.db.inTransaction ? transaction(...args) : this.counter.outermost(() => transaction(...args)));
  }

  close(): void {
    this.db.close();
  }
}

/** The parts of `node:sqlite` used here (typed locally: @types/node follows Node 20, which has no such module). */
interface NodeStatementSync {
  run(...params: SqlValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
}
interface NodeDatabaseSync {
  prepare(sql: string): NodeStatementSync;
  exec(sql: string): void;
  close(): void;
}
type NodeDatabaseSyncConstructor = new (path: string, options?: { readOnly?: boolean; open?: boolean }) => NodeDatabaseSync;

class NodeSqliteDatabase implements SqlDatabase {
  readonly driver = 'node';
  private readonly db: NodeDatabaseSync;
  private readonly statements: StatementCache<SqlStatement>;
  private depth = 0;
  private savepoints = 0;
  private readonly counter: WriteCommitCounter;

  constructor(path: string, options: OpenOptions) {
    // Loaded only where it is used: Node 20 has no node:sqlite, and Node 22 warns on import.
    const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as { DatabaseSync: NodeDatabaseSyncConstructor };
    // DatabaseSync creates a missing file; refuse the way better-sqlite3 does.
    if (options.fileMustExist && path !== ':memory:' && !existsSync(path)) throw new Error(`unable to open database file ${path}: it does not exist`);
    this.db = new DatabaseSync(path, { readOnly: options.readonly ?? false });
    const totalChanges = this.db.prepare('SELECT total_changes() AS n');
    this.counter = new WriteCommitCounter(() => Number((totalChanges.get() as { n: number | bigint }).n));
    this.statements = new StatementCache((sql): SqlStatement => {
      const statement = this.db.prepare(sql);
      return {
        run: (...params) => {
          const result = statement.run(...params);
          this.counter.ran(result.changes, this.depth > 0);
          return result;
        },
        // null-prototype rows from node:sqlite read like better-sqlite3's plain objects everywhere the store looks.
        get: (...params) => statement.get(...params) ?? undefined,
        all: (...params) => statement.all(...params),
      };
    });
  }

  prepare<P extends SqlValue[], R>(sql: string): SqlStatement<P, R> {
    return this.statements.get(sql) as unknown as SqlStatement<P, R>;
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  get writeCommits(): number {
    return this.counter.commits;
  }

  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
    return (...args: A): T => (this.depth === 0 ? this.counter.outermost(() => this.runTransaction(fn, args)) : this.runTransaction(fn, args));
  }

  private runTransaction<A extends unknown[], T>(fn: (...args: A) => T, args: A): T {
    const outermost = this.depth === 0;
    const savepoint = `cosell_${++this.savepoints}`;
    // IMMEDIATE takes the write lock up front, so busy_timeout applies here rather than failing mid-transaction.
    this.db.exec(outermost ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
    this.depth++;
    try {
      const result = fn(...args);
      this.db.exec(outermost ? 'COMMIT' : `RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      try {
        this.db.exec(outermost ? 'ROLLBACK' : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      } catch {
        // SQLite already rolled back (some errors do); the original error is the one to report.
      }
      throw error;
    } finally {
      this.depth--;
    }
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}
