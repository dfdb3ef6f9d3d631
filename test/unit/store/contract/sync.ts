import { expect } from 'vitest';
import type { AuditEntry } from '../../../../src/store/types.ts';
import { commitOf, commitPair, link, type ContractCase } from './harness.ts';

const note = (referralId: string, message: string, outcome: AuditEntry['outcome'] = 'written'): AuditEntry => ({
  connection: 'dynamics',
  referralId,
  crmEntity: 'opportunity',
  crmId: `crm-${referralId}`,
  direction: 'to-crm',
  field: 'name',
  oldValue: null,
  newValue: { amount: 0, flag: false, text: '' } as never,
  cause: 'event',
  outcome,
  message,
});

export const syncCases: ContractCase[] = [
  {
    name: "sync: a pair's commit writes link, base, audit, conflicts and PC field writes, and drops its intents and create key",
    async run({ store }) {
      const { sync } = store;
      const key = await sync.createKey('dynamics', 'opportunity', 'crm-r1');
      await sync.recordIntents([{ connection: 'dynamics', referralId: 'r1', crmEntity: 'opportunity', base: { name: 'a' }, toCrm: { name: 'b' }, toPc: {} }]);
      await sync.commit(
        commitOf(link('r1', 'crm-r1', { base: { name: 'Deal', dealValue: 0, notes: null }, pcEtag: 'W/"1"', crmVersion: '7' }), {
          audit: [note('r1', 'first')],
          holdConflicts: [{ field: 'notes', base: 'a', pc: 'b', crm: null }],
          pcFieldWrites: { name: { value: 'Deal', changedAt: '2026-01-01T00:00:00.000Z' } },
        }),
      );
      expect(await sync.getLink('dynamics', 'r1')).toMatchObject({
        crmEntity: 'opportunity', crmId: 'crm-r1', base: { name: 'Deal', dealValue: 0, notes: null }, pcEtag: 'W/"1"', crmVersion: '7', syncState: 'ok',
        lastError: null, createdAt: expect.any(String), updatedAt: expect.any(String),
      });
      expect(await sync.findLinkByCrm('dynamics', 'opportunity', 'crm-r1')).toMatchObject({ referralId: 'r1' });
      expect(await sync.findLinkByCrm('salesforce', 'opportunity', 'crm-r1')).toBeNull();
      expect(await sync.getIntent('dynamics', 'r1', 'opportunity')).toBeNull();
      expect(await sync.createKey('dynamics', 'opportunity', 'crm-r1')).not.toBe(key);
      expect(await sync.pcFieldWrites('r1')).toEqual({ name: { value: 'Deal', changedAt: '2026-01-01T00:00:00.000Z' } });
      const [entry] = await sync.audit({ referralId: 'r1', limit: 10 });
      expect(entry).toMatchObject({ message: 'first', oldValue: null, newValue: { amount: 0, flag: false, text: '' }, at: expect.any(String) });
      const [held] = await sync.conflicts();
      expect(held).toMatchObject({ connection: 'dynamics', referralId: 'r1', field: 'notes', base: 'a', pc: 'b', crm: null });

      // A lead promoted to an opportunity: the link moves to the new record; the released conflict goes.
      await sync.commit(commitOf(link('r1', 'crm-r1b', { base: { name: 'Deal 2' } }), { releaseConflicts: ['notes'] }));
      expect(await sync.getLink('dynamics', 'r1')).toMatchObject({ crmId: 'crm-r1b', base: { name: 'Deal 2' } });
      expect(await sync.conflicts()).toEqual([]);
    },
  },
  {
    name: "sync: a commit that fails leaves none of its writes (audit, conflicts, intent removal)",
    async run({ store }) {
      const { sync } = store;
      await sync.commit(commitOf(link('r1', 'crm-shared')));
      await sync.recordIntents([{ connection: 'dynamics', referralId: 'r2', crmEntity: 'opportunity', base: {}, toCrm: { name: 'x' }, toPc: {} }]);
      // r2 claims the CRM record r1 is linked to: the link's uniqueness refuses it, after audit and conflicts were written.
      // (Called inside an async function: the SQLite store, synchronous on this branch, throws rather than rejects.)
      await expect(
        (async () => sync.commit(commitOf(link('r2', 'crm-shared'), { audit: [note('r2', 'must not stay')], holdConflicts: [{ field: 'name', base: 'a', pc: 'b', crm: 'c' }] })))(),
      ).rejects.toThrow();
      expect(await sync.getLink('dynamics', 'r2')).toBeNull();
      expect(await sync.audit({ referralId: 'r2', limit: 10 })).toEqual([]);
      expect(await sync.conflicts()).toEqual([]);
      expect(await sync.getIntent('dynamics', 'r2', 'opportunity')).not.toBeNull();
    },
  },
  {
    name: 'sync: write intents replace per pair and entity; the commit drops only its entity',
    async run({ store }) {
      const { sync } = store;
      await sync.recordIntents([
        { connection: 'dynamics', referralId: 'r1', crmEntity: 'lead', base: { dealValue: 0 }, toCrm: { dealValue: 1 }, toPc: {} },
        { connection: 'dynamics', referralId: 'r1', crmEntity: 'opportunity', base: { dealValue: 2, notes: null }, toCrm: {}, toPc: {} },
      ]);
      expect(await sync.getIntent('dynamics', 'r1', 'opportunity')).toEqual({
        connection: 'dynamics', referralId: 'r1', crmEntity: 'opportunity', base: { dealValue: 2, notes: null }, toCrm: {}, toPc: {},
      });
      await sync.recordIntents([{ connection: 'dynamics', referralId: 'r1', crmEntity: 'lead', base: { status: 'New' }, toCrm: {}, toPc: { status: 'Active' } }]);
      expect(await sync.getIntent('dynamics', 'r1', 'lead')).toMatchObject({ base: { status: 'New' }, toCrm: {}, toPc: { status: 'Active' } });
      await sync.recordIntents([]);
      await sync.commit(commitOf(link('r1', 'lead-1', { crmEntity: 'lead' })));
      expect(await sync.getIntent('dynamics', 'r1', 'lead')).toBeNull();
      expect(await sync.getIntent('dynamics', 'r1', 'opportunity')).not.toBeNull();
      expect(await sync.getIntent('salesforce', 'r1', 'opportunity')).toBeNull();
    },
  },
  {
    name: 'sync: a create key is stable until the link commit, also when asked for concurrently',
    async run({ store }) {
      const { sync } = store;
      const keys = await Promise.all(Array.from({ length: 4 }, () => sync.createKey('dynamics', 'opportunity', 'o1')));
      expect(new Set(keys).size).toBe(1);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(await sync.createKey('dynamics', 'opportunity', 'o2')).not.toBe(keys[0]);
      expect(await sync.createKey('dynamics', 'opportunity', 'o1')).toBe(keys[0]);
    },
  },
  {
    name: "sync: a held conflict keeps its id while held; an operator's resolution is recorded and queues a manual sync",
    async run(t) {
      const { sync } = t.store;
      await sync.commit(commitOf(link('r1', 'crm-r1'), { holdConflicts: [{ field: 'notes', base: 'a', pc: 'b', crm: 'c' }, { field: 'name', base: 1, pc: 2, crm: 3 }] }));
      await sync.commit(commitOf(link('r2', 'crm-r2', { connection: 'salesforce' }), { holdConflicts: [{ field: 'notes', base: null, pc: 'x', crm: 'y' }] }));
      const held = await sync.conflicts('dynamics');
      expect(held.map((c) => c.field).sort()).toEqual(['name', 'notes']);
      const notes = held.find((c) => c.field === 'notes')!;
      // Held again with newer values: same id, values updated, detection time kept.
      await sync.commit(commitOf(link('r1', 'crm-r1'), { holdConflicts: [{ field: 'notes', base: 'a', pc: 'b2', crm: 'c2' }] }));
      expect(await sync.conflict(notes.id)).toMatchObject({ id: notes.id, pc: 'b2', crm: 'c2', base: 'a', detectedAt: notes.detectedAt });
      expect(await sync.conflicts()).toHaveLength(3);

      expect(await sync.resolveConflict(999_999, { take: 'crm', value: 'z' })).toBe(false);
      expect(await t.pendingJobs()).toEqual([]);
      expect(await sync.resolveConflict(notes.id, { take: 'value', value: { typed: true } as never })).toBe(true);
      expect((await sync.conflict(notes.id))?.resolution).toEqual({ take: 'value', value: { typed: true } });
      expect(await t.pendingJobs()).toEqual([expect.objectContaining({ connection: 'dynamics', referralId: 'r1', cause: 'manual', microsoftSide: false })]);
      await sync.commit(commitOf(link('r1', 'crm-r1'), { releaseConflicts: ['notes'] }));
      expect(await sync.conflict(notes.id)).toBeNull();
    },
  },
  {
    name: 'sync: dead letters stay open until the pair syncs (not when left in error) or is replayed; replay enqueues',
    async run(t) {
      const { sync } = t.store;
      await t.deadLetter({ connection: 'dynamics', cause: 'event', crm: { entity: 'opportunity', id: 'o1' } }, '400 invalidRequest: customerProfile.name');
      await t.deadLetter({ connection: 'dynamics', cause: 'event', referralId: 'other' }, '403 accessDenied');
      expect(await sync.deadLetters({ open: true, limit: 10 })).toHaveLength(2);
      const [newest] = await sync.deadLetters({ open: true, limit: 10 });
      expect(newest).toMatchObject({ referralId: 'other', error: '403 accessDenied', attempts: 1, cause: 'event', failedAt: expect.any(String), replayedAt: null, resolvedAt: null, resolvedBy: null });
      expect(typeof newest?.id).toBe('number');

      // The CRM-keyed failure is closed by the sync of its pair under the referral.
      await sync.commit(commitOf(link('r1', 'o1')));
      await t.completeSynced({ connection: 'dynamics', cause: 'reconcile', referralId: 'r1' });
      expect((await sync.deadLetters({ open: true, limit: 10 })).map((d) => d.referralId)).toEqual(['other']);
      expect((await sync.deadLetters({ limit: 10 })).find((d) => d.crmId === 'o1')).toMatchObject({ resolvedBy: 'sync', resolvedAt: expect.any(String), replayedAt: null });

      // A sync that left the pair in error closes nothing.
      await sync.commit(commitOf(link('r2', 'o2', { syncState: 'error', lastError: 'gone' })));
      await t.deadLetter({ connection: 'dynamics', cause: 'event', referralId: 'r2' }, '400 invalidRequest');
      await t.completeSynced({ connection: 'dynamics', cause: 'event', referralId: 'r2' });
      const letter = (await sync.deadLetters({ open: true, limit: 10 })).find((d) => d.referralId === 'r2');
      expect(letter).toMatchObject({ resolvedAt: null, resolvedBy: null });

      expect(await sync.replayDeadLetter(letter!.id)).toBe(true);
      expect(await t.pendingJobs()).toEqual([expect.objectContaining({ referralId: 'r2', cause: 'manual' })]);
      expect(await sync.replayDeadLetter(letter!.id)).toBe(false);
      expect(await sync.replayDeadLetter(123_456)).toBe(false);
      expect((await sync.deadLetters({ open: true, limit: 10 })).map((d) => d.referralId)).toEqual(['other']);
      expect((await sync.deadLetters({ limit: 10 })).find((d) => d.referralId === 'r2')).toMatchObject({ resolvedBy: 'replay', resolvedAt: expect.any(String), replayedAt: expect.any(String) });
    },
  },
  {
    name: 'sync: pause holders (operator, seller) each lift their own; the sync is queued, in the same transaction, when none is left',
    async run(t) {
      const { sync } = t.store;
      await commitPair(t, 'r-s', { name: 'Seller paused deal' });
      const seller = { by: 'seller', crm: 'Dynamics' } as const;
      expect(await sync.pausePair('dynamics', 'nope')).toBe(false);
      expect(await sync.pausePair('dynamics', 'r-s', seller)).toBe(true);
      expect(await sync.pausePair('dynamics', 'r-s', seller)).toBe(false);
      expect(await sync.pausePair('dynamics', 'r-s')).toBe(true);
      expect(await sync.pausedBy('dynamics', 'r-s')).toEqual(['operator', 'seller']);
      expect(await sync.isPaused('dynamics', 'r-s')).toBe(true);
      expect(await sync.resumePair('dynamics', 'r-s', seller)).toBe(true);
      expect(await sync.resumePair('dynamics', 'r-s', seller)).toBe(false);
      expect(await sync.isPaused('dynamics', 'r-s')).toBe(true);
      expect(await t.pendingJobs()).toEqual([]);
      expect(await sync.resumePair('dynamics', 'r-s')).toBe(true);
      expect(await sync.isPaused('dynamics', 'r-s')).toBe(false);
      expect(await sync.pausedBy('dynamics', 'r-s')).toEqual([]);
      expect(await t.pendingJobs()).toEqual([expect.objectContaining({ referralId: 'r-s', crmId: 'crm-r-s', crmEntity: 'opportunity', cause: 'manual', microsoftSide: true })]);
      const messages = (await sync.audit({ referralId: 'r-s', limit: 10 })).map((e) => e.message);
      expect(messages).toEqual([
        expect.stringContaining('resumed by an operator: both sides are merged'),
        expect.stringContaining('Sync with Partner Center set to Yes in Dynamics: still paused by an operator'),
        expect.stringContaining('paused by an operator'),
        expect.stringContaining('Sync with Partner Center set to No in Dynamics'),
      ]);
    },
  },
  {
    name: 'sync: audit pages newest first and filters by connection, referral, CRM id and outcome',
    async run({ store }) {
      const { sync } = store;
      await sync.appendAudit([note('r1', 'a'), note('r1', 'b', 'conflict'), note('r2', 'c')]);
      await sync.appendAudit([]);
      const all = await sync.audit({ limit: 10 });
      expect(all.map((e) => e.message)).toEqual(['c', 'b', 'a']);
      expect((await sync.audit({ limit: 10, beforeId: all[0]!.id })).map((e) => e.message)).toEqual(['b', 'a']);
      expect((await sync.audit({ limit: 10, referralId: 'r1' })).map((e) => e.message)).toEqual(['b', 'a']);
      expect((await sync.audit({ limit: 10, crmId: 'crm-r2' })).map((e) => e.message)).toEqual(['c']);
      expect((await sync.audit({ limit: 10, outcomes: ['conflict', 'held'] })).map((e) => e.message)).toEqual(['b']);
      expect(await sync.audit({ limit: 10, connection: 'salesforce' })).toEqual([]);
    },
  },
  {
    name: 'sync: watermarks are upserted and listed',
    async run({ store }) {
      const { sync } = store;
      expect(await sync.getWatermark('a')).toBeNull();
      await sync.setWatermark('b', '1');
      await sync.setWatermark('a', '2');
      await sync.setWatermark('b', '3');
      expect(await sync.getWatermark('b')).toBe('3');
      expect(await sync.watermarks()).toEqual({ a: '2', b: '3' });
      await store.jobs.enqueue([{ connection: 'dynamics', cause: 'reconcile', referralId: 'r9' }], { source: 'a', value: '4' });
      expect(await sync.getWatermark('a')).toBe('4');
    },
  },
  {
    name: "sync: the commit that ends a run completes its job: gone with the commit, the pair's dead letters resolved, a rerun when enqueued meanwhile",
    async run(t) {
      const { store } = t;
      const request = { connection: 'dynamics', cause: 'event' as const, referralId: 'r-fold' };
      await t.deadLetter(request, 'HTTP 400');
      let runs = 0;
      await t.runJobs(request, async (job) => {
        runs++;
        // New events while the first run works: the pair must run again after it.
        if (runs === 1) await store.jobs.enqueue([request]);
        await store.sync.commit(commitOf(link('r-fold', 'o-fold', { crmVersion: `v${runs}` }), { completes: job }));
        // Completed by the commit itself, before the executor's completion: no job of this run is left behind it.
        const left = await t.pendingJobs();
        expect(left.length).toBe(runs === 1 ? 1 : 0);
      });
      expect(runs).toBe(2);
      expect(await t.pendingJobs()).toEqual([]);
      expect((await store.sync.getLink('dynamics', 'r-fold'))?.crmVersion).toBe('v2');
      expect(await store.sync.deadLetters({ open: true, limit: 10 })).toEqual([]);
    },
  },
];
