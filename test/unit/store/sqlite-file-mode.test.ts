import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { makeTempDir } from '../../support/tmp.ts';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('SQLite store file permissions', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it('creates its directory 0700 and the database, WAL and SHM files 0600', async () => {
    const path = join(tmp.path, 'new', 'nested', 'cosell.db');
    const store = SqliteStore.open({ path, synchronous: 'full' });
    try {
      // A write, so SQLite has created the WAL and the shared-memory index.
      await store.sync.setWatermark('test', '2025-01-01T00:00:00.000Z');
      expect(modeOf(join(tmp.path, 'new'))).toBe(0o700);
      expect(modeOf(join(tmp.path, 'new', 'nested'))).toBe(0o700);
      expect(modeOf(path)).toBe(0o600);
      expect(modeOf(`${path}-wal`)).toBe(0o600);
      expect(modeOf(`${path}-shm`)).toBe(0o600);
    } finally {
      await store.close();
    }
  });

  it('tightens an existing world-readable store at open', async () => {
    const path = join(tmp.path, 'old.db');
    const first = SqliteStore.open({ path, synchronous: 'full' });
    await first.sync.setWatermark('test', '2025-01-01T00:00:00.000Z');
    await first.close();
    chmodSync(path, 0o644);
    const store = SqliteStore.open({ path, synchronous: 'full' });
    try {
      expect(modeOf(path)).toBe(0o600);
    } finally {
      await store.close();
    }
  });

  it('reports a store path it cannot create as invalid store.path configuration', () => {
    const blocker = join(tmp.path, 'a-file');
    writeFileSync(blocker, 'not a directory');
    mkdirSync(join(tmp.path, 'ok'), { recursive: true });
    const error = (() => {
      try {
        SqliteStore.open({ path: join(blocker, 'sub', 'cosell.db'), synchronous: 'full' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('store.path');
    expect((error as ConfigError).message).toMatch(/a-file/);
  });
});
