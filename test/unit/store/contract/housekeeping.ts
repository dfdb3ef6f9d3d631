import { expect } from 'vitest';
import { retentionSchema } from '../../../../src/config/retention.ts';
import type { AuditEntry } from '../../../../src/store/types.ts';
import type { ContractCase } from './harness.ts';
import { event } from './inbox.ts';

const DAY = 24 * 3600 * 1000;

const audit = (n: number): AuditEntry => ({
  connection: 'dynamics', referralId: `ref-${n}`, crmEntity: 'opportunity', crmId: `opp-${n}`, direction: 'to-crm', field: 'name',
  oldValue: undefined, newValue: `deal ${n}`, cause: 'webhook', outcome: 'written', message: null,
});

export const housekeepingCases: ContractCase[] = [
  {
    name: 'credentials: an exchange keeps the newest sealed token, a failure is recorded beside it, a refused one is dropped',
    async run({ credentials, store }) {
      expect(await credentials.get('entra')).toBeUndefined();
      await credentials.recordFailure('entra', '2026-01-01T00:00:00.000Z', 'invalid_grant');
      expect(await store.credentials.get('entra')).toEqual({ name: 'entra', sealed: null, origin: null, rotatedAt: null, lastUsedAt: null, lastError: 'invalid_grant', lastErrorAt: '2026-01-01T00:00:00.000Z' });
      await credentials.recordExchange('entra', '2026-01-02T00:00:00.000Z', { sealed: 's1', origin: 'o1' });
      expect(await credentials.get('entra')).toEqual({ name: 'entra', sealed: 's1', origin: 'o1', rotatedAt: '2026-01-02T00:00:00.000Z', lastUsedAt: '2026-01-02T00:00:00.000Z', lastError: null, lastErrorAt: null });
      // Used again without a rotation: the sealed token and its rotation time stay.
      await credentials.recordExchange('entra', '2026-01-03T00:00:00.000Z', undefined);
      expect(await credentials.get('entra')).toMatchObject({ sealed: 's1', rotatedAt: '2026-01-02T00:00:00.000Z', lastUsedAt: '2026-01-03T00:00:00.000Z' });
      await credentials.dropSealed('entra');
      expect(await credentials.get('entra')).toMatchObject({ sealed: null, origin: 'o1' });
    },
  },
  {
    name: 'retention: deletes inbox and audit rows older than their retention, nothing younger, everything kept at 0 days',
    async run({ store, compactor }) {
      await Promise.all([1, 2, 3].map((n) => store.inbox.append(event(n))));
      await store.sync.appendAudit([audit(1), audit(2)]);
      const forever = retentionSchema.parse({ inboxDays: 0, auditDays: 0, resolvedDeadLetterDays: 0 });
      expect(await compactor.compact(forever, new Date(Date.now() + 10_000 * DAY))).toEqual({ inbox: 0, audit: 0, deadLetters: 0 });
      const policy = retentionSchema.parse({ inboxDays: 30, auditDays: 365 });
      expect(await compactor.compact(policy, new Date(Date.now() + 29 * DAY))).toEqual({ inbox: 0, audit: 0, deadLetters: 0 });
      expect(await store.inbox.count()).toBe(3);
      expect(await compactor.compact(policy, new Date(Date.now() + 31 * DAY))).toEqual({ inbox: 3, audit: 0, deadLetters: 0 });
      expect(await store.sync.audit({ limit: 10 })).toHaveLength(2);
      expect((await compactor.compact(policy, new Date(Date.now() + 366 * DAY))).audit).toBe(2);
      expect(await store.sync.audit({ limit: 10 })).toHaveLength(0);
    },
  },
  {
    name: 'retention: caps the inbox at inboxMaxEvents, keeping the newest',
    async run({ store, compactor }) {
      for (let start = 0; start < 1200; start += 200) {
        await Promise.all(Array.from({ length: 200 }, (_, i) => store.inbox.append(event(start + i))));
      }
      const report = await compactor.compact(retentionSchema.parse({ inboxMaxEvents: 1000 }));
      expect(report.inbox).toBe(200);
      expect(await store.inbox.count()).toBe(1000);
      const ids = (await store.inbox.list({ limit: 1000 })).map((e) => e.resourceId);
      expect(ids).not.toContain('ref-0');
      expect(ids).toContain('ref-1199');
    },
  },
  {
    name: 'retention: deletes resolved (replayed or synced) dead letters past their retention, never open ones',
    async run(t) {
      const old = new Date(Date.now() - 100 * DAY).toISOString();
      const recent = new Date().toISOString();
      await t.insertDeadLetterRow({ jobKey: 'open-old', failedAt: old });
      await t.insertDeadLetterRow({ jobKey: 'replayed-old', failedAt: old, replayedAt: old });
      await t.insertDeadLetterRow({ jobKey: 'replayed-recent', failedAt: old, replayedAt: recent });
      await t.insertDeadLetterRow({ jobKey: 'synced-old', failedAt: old, resolvedAt: old, resolvedBy: 'sync' });
      await t.insertDeadLetterRow({ jobKey: 'synced-recent', failedAt: old, resolvedAt: recent, resolvedBy: 'sync' });
      const report = await t.compactor.compact(retentionSchema.parse({ resolvedDeadLetterDays: 90 }));
      expect(report.deadLetters).toBe(2);
      expect((await t.store.sync.deadLetters({ limit: 10 })).map((d) => d.jobKey).sort()).toEqual(['open-old', 'replayed-recent', 'synced-recent']);
    },
  },
];
