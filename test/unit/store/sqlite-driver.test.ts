import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/store/sqlite/driver.ts';
import { makeTempDir } from '../../support/tmp.ts';

// node:sqlite exists from Node 22 (flag-free from 22.13); on Node 20 only better-sqlite3 can be exercised.
const nodeMajor = Number(process.versions.node.split('.')[0]);
const drivers = ['better-sqlite3', ...(nodeMajor >= 22 ? ['node'] : [])] as const;

describe.each(drivers)('SQLite driver %s', (driver) => {
  const tmp = makeTempDir();
  const previous = process.env.COSELL_SQLITE_DRIVER;
  beforeEach(() => {
    process.env.COSELL_SQLITE_DRIVER = driver;
  });
  afterEach(() => {
    if (previous === undefined) delete process.env.COSELL_SQLITE_DRIVER;
    else process.env.COSELL_SQLITE_DRIVER = previous;
  });
  afterAll(() => tmp.cleanup());

  it('commits a transaction, rolls back a failed one, and turns an inner failure into a savepoint rollback', () => {
    const db = openDatabase(join(tmp.path, 'tx.db'));
    expect(db.driver).toBe(driver);
    db.exec('CREATE TABLE t (v TEXT)');
    const insert = (v: string) => db.prepare<[string]>('INSERT INTO t (v) VALUES (?)').run(v);
    const values = () => db.prepare<[], { v: string }>('SELECT v FROM t ORDER BY rowid').all().map((r) => r.v);

    db.transaction(() => insert('a'))();
    expect(() =>
      db.transaction(() => {
        insert('lost');
        throw new Error('outer failure');
      })(),
    ).toThrow('outer failure');
    const outer = db.transaction(() => {
      insert('b');
      try {
        db.transaction(() => {
          insert('inner');
          throw new Error('inner failure');
        })();
      } catch {
        // the outer transaction goes on without the inner one's writes
      }
      insert('c');
    });
    outer();
    expect(values()).toEqual(['a', 'b', 'c']);
    expect(db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM t WHERE v = ?').get('b')?.n).toBe(1);
    expect(db.prepare<[string], { n: number }>('SELECT v AS n FROM t WHERE v = ?').get('missing')).toBeUndefined();
    db.close();
  });

  it('opens read-only without writing, and refuses a missing file when it must exist', () => {
    const path = join(tmp.path, 'ro.db');
    const writer = openDatabase(path);
    writer.exec('CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1)');
    writer.close();
    const reader = openDatabase(path, { readonly: true, fileMustExist: true });
    expect(reader.prepare<[], { v: number }>('SELECT v FROM t').get()?.v).toBe(1);
    expect(() => reader.exec('INSERT INTO t VALUES (2)')).toThrow(/readonly/i);
    reader.close();
    expect(() => openDatabase(join(tmp.path, 'missing.db'), { readonly: true, fileMustExist: true })).toThrow();
  });
});
