import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/store/sqlite/driver.ts';
import { makeTempDir } from '../../support/tmp.ts';

// node:sqlite exists from Node 22; on Node 20 only better-sqlite3 can be exercised.
const nodeMajor = Number(process.versions.node.split('.')[0]);
const drivers = ['better-sqlite3', ...(nodeMajor >= 22 ? ['node'] : [])] as const;

describe.each(drivers)('SQLite driver %s: commits that wrote', (driver) => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it('counts a writing transaction once, a writing statement outside one once, and nothing that changed no row', () => {
    const previous = process.env.COSELL_SQLITE_DRIVER;
    process.env.COSELL_SQLITE_DRIVER = driver;
    try {
      const db = openDatabase(join(tmp.path, `${driver}.db`));
      db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)');
      const upsert = db.prepare<[string, string]>('INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v WHERE v IS NOT excluded.v');
      const insertReturning = db.prepare<[string, string], { k: string }>('INSERT INTO t (k, v) VALUES (?, ?) RETURNING k');
      const start = db.writeCommits;
      db.transaction(() => {
        upsert.run('a', '1');
        upsert.run('b', '1');
        db.transaction(() => upsert.run('c', '1'))();
      })();
      expect(db.writeCommits - start).toBe(1);
      upsert.run('a', '2');
      expect(db.writeCommits - start).toBe(2);
      // The same value: the WHERE keeps the row, nothing is written.
      upsert.run('a', '2');
      db.transaction(() => upsert.run('b', '1'))();
      expect(db.writeCommits - start).toBe(2);
      // A write read through RETURNING counts as well, inside a transaction.
      db.transaction(() => insertReturning.get('d', '1'))();
      expect(db.writeCommits - start).toBe(3);
      expect(() =>
        db.transaction(() => {
          upsert.run('e', '1');
          throw new Error('rolled back');
        })(),
      ).toThrow('rolled back');
      expect(db.writeCommits - start).toBe(3);
      db.close();
    } finally {
      if (previous === undefined) delete process.env.COSELL_SQLITE_DRIVER;
      else process.env.COSELL_SQLITE_DRIVER = previous;
    }
  });
});
