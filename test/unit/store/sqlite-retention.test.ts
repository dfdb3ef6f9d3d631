import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/store/sqlite/driver.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { retentionSchema } from '../../../src/config/retention.ts';
import type { AuditEntry, NewInboxEvent } from '../../../src/store/types.ts';
import { makeTempDir } from '../../support/tmp.ts';

const event = (n: number): NewInboxEvent => ({
  source: 'partner-center',
  dedupKey: `key-${n}`,
  eventName: 'referral-updated',
  resourceId: `ref-${n}`,
  payload: `{"n":${n}}`,
});

const audit = (n: number): AuditEntry => ({
  connection: 'dynamics',
  referralId: `ref-${n}`,
  crmEntity: 'opportunity',
  crmId: `opp-${n}`,
  direction: 'to-crm',
  field: 'name',
  oldValue: undefined,
  newValue: `deal ${n}`,
  cause: 'webhook',
  outcome: 'written',
  message: null,
});

const DAY = 24 * 3600 * 1000;

describe('store retention', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it('keeps the inbox bounded over 10,000 events, keeping the newest', async () => {
    const store = SqliteStore.open({ path: join(tmp.path, 'bounded.db'), synchronous: 'normal' });
    const policy = retentionSchema.parse({ inboxMaxEvents: 1000 });
    const batch = 500;
    let largest = 0;
    for (let start = 0; start < 10_000; start += batch) {
      await Promise.all(Array.from({ length: batch }, (_, i) => store.inbox.append(event(start + i))));
      largest = Math.max(largest, await store.inbox.count());
      await store.compactor.compact(policy);
      expect(await store.inbox.count()).toBeLessThanOrEqual(1000);
    }
    expect(largest).toBeLessThanOrEqual(1000 + batch);
    expect(await store.inbox.count()).toBe(1000);
    const kept = (await store.inbox.list({ limit: 1000 })).map((e) => e.dedupKey);
    expect(kept[0]).toBe('key-9999');
    expect(kept.at(-1)).toBe('key-9000');
    await store.close();
  });

  it('deletes inbox and audit rows older than their retention, and nothing younger', async () => {
    const store = SqliteStore.open({ path: join(tmp.path, 'age.db'), synchronous: 'normal' });
    await Promise.all([1, 2, 3].map((n) => store.inbox.append(event(n))));
    await store.sync.appendAudit([audit(1), audit(2)]);
    const policy = retentionSchema.parse({ inboxDays: 30, auditDays: 365 });

    expect(await store.compactor.compact(policy, new Date(Date.now() + 29 * DAY))).toEqual({ inbox: 0, audit: 0, deadLetters: 0 });
    expect(await store.inbox.count()).toBe(3);

    expect(await store.compactor.compact(policy, new Date(Date.now() + 31 * DAY))).toEqual({ inbox: 3, audit: 0, deadLetters: 0 });
    expect(await store.sync.audit({ limit: 10 })).toHaveLength(2);

    expect((await store.compactor.compact(policy, new Date(Date.now() + 366 * DAY))).audit).toBe(2);
    expect(await store.sync.audit({ limit: 10 })).toHaveLength(0);
    await store.close();
  });

  it('deletes resolved (replayed or later synced) dead letters past their retention, never open ones', async () => {
    const path = join(tmp.path, 'dead.db');
    const store = SqliteStore.open({ path, synchronous: 'normal' });
    const db = openDatabase(path);
    const old = new Date(Date.now() - 100 * DAY).toISOString();
    const insert = db.prepare<[string, string | null]>(
      `INSERT INTO dead_letters (job_key, connection, cause, attempts, error, failed_at, replayed_at) VALUES (?, 'dynamics', 'webhook', 10, 'rejected', '${old}', ?)`,
    );
    insert.run('open-old', null);
    insert.run('replayed-old', old);
    insert.run('replayed-recent', new Date().toISOString());
    // Closed by a later successful sync of the pair (no replay): as resolved as a replay.
    const resolvedBySync = db.prepare<[string, string]>(
      `INSERT INTO dead_letters (job_key, connection, cause, attempts, error, failed_at, resolved_at, resolved_by) VALUES (?, 'dynamics', 'webhook', 10, 'rejected', '${old}', ?, 'sync')`,
    );
    resolvedBySync.run('synced-old', old);
    resolvedBySync.run('synced-recent', new Date().toISOString());
    db.close();
    const report = await store.compactor.compact(retentionSchema.parse({ resolvedDeadLetterDays: 90 }));
    expect(report.deadLetters).toBe(2);
    const left = (await store.sync.deadLetters({ limit: 10 })).map((d) => d.jobKey).sort();
    expect(left).toEqual(['open-old', 'replayed-recent', 'synced-recent']);
    await store.close();
  });

  it('keeps everything when the days are 0', async () => {
    const store = SqliteStore.open({ path: join(tmp.path, 'forever.db'), synchronous: 'normal' });
    await store.inbox.append(event(1));
    await store.sync.appendAudit([audit(1)]);
    const policy = retentionSchema.parse({ inboxDays: 0, auditDays: 0, resolvedDeadLetterDays: 0 });
    expect(await store.compactor.compact(policy, new Date(Date.now() + 10_000 * DAY))).toEqual({ inbox: 0, audit: 0, deadLetters: 0 });
    await store.close();
  });
});
