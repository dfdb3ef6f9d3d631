import { copyFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/sqlite/driver.ts';
import { runCli } from '../support/cli.ts';
import { IngestHarness } from '../support/ingest-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { makeTempDir } from '../support/tmp.ts';
import { sqliteStoreConfig } from '../../src/config/schema.ts';

interface LinkRow {
  connection: string;
  referral_id: string;
  crm_entity: string;
  crm_id: string;
}

function links(path: string): LinkRow[] {
  const db = openDatabase(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], LinkRow>('SELECT connection, referral_id, crm_entity, crm_id FROM links ORDER BY connection, referral_id').all();
  } finally {
    db.close();
  }
}

describe('store operations on a running service', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it('cosell backup copies the store while the service runs; a service restored from the copy has the same links', async () => {
    const h = await SyncHarness.start({ mode: 'child' });
    try {
      const referrals = await Promise.all([1, 2, 3].map((n) => h.incomingReferral({ name: `Backup deal ${n}` })));
      await h.waitForIdle();
      for (const r of referrals) expect(await h.opportunityFor(r.id)).toBeDefined();
      const storePath = sqliteStoreConfig(h.config.store, 'this test').path;
      const before = links(storePath);
      expect(before.length).toBeGreaterThanOrEqual(3);

      const copy = join(tmp.path, 'backup.db');
      const result = await runCli(['backup', copy, '--config', join(h.dir, 'cosell.yaml'), '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ links: before.length });
      expect(statSync(copy).mode & 0o777).toBe(0o600);
      // A second backup to the same file is refused rather than overwriting it.
      const again = await runCli(['backup', copy, '--config', join(h.dir, 'cosell.yaml')]);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/exists/);

      // The documented restore: stop the service, put the copy at store.path (without the old -wal/-shm), start it.
      await h.stopService();
      renameSync(storePath, join(tmp.path, 'replaced.db'));
      rmSync(`${storePath}-wal`, { force: true });
      rmSync(`${storePath}-shm`, { force: true });
      copyFileSync(copy, storePath);
      await h.startService();
      const status = await h.status();
      expect(status.connections).toEqual(['dynamics']);
      expect(links(storePath)).toEqual(before);
      // The restored service keeps syncing: a new referral links next to the restored ones.
      const after = await h.incomingReferral({ name: 'After restore' });
      await h.waitForIdle();
      expect(await h.opportunityFor(after.id)).toBeDefined();
      expect(links(storePath)).toHaveLength(before.length + 1);
    } finally {
      await h.close();
    }
  }, 120_000);

  it('the service runs the retention schedule: the inbox stays bounded over 10,000 events', async () => {
    const h = await IngestHarness.start({ store: { synchronous: 'normal', retention: { inboxMaxEvents: 1000, intervalMinutes: 0.005 } } });
    try {
      for (let start = 0; start < 10_000; start += 1000) {
        await Promise.all(
          Array.from({ length: 1000 }, (_, i) =>
            h.store.inbox.append({ source: 'partner-center', dedupKey: `k-${start + i}`, eventName: 'referral-updated', resourceId: null, payload: '{}' }),
          ),
        );
      }
      await expect.poll(() => h.store.inbox.count(), { timeout: 30_000, interval: 100 }).toBeLessThanOrEqual(1000);
    } finally {
      await h.close();
    }
  }, 60_000);
});
