import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/store/sqlite/driver.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { dealKey, type Link } from '../../../src/store/types.ts';
import type { CanonicalRecord } from '../../../src/canonical-value.ts';
import { makeTempDir } from '../../support/tmp.ts';

/* The console's read-only queries: every pair a connection knows of, its worst state, search and pages. */

describe('SQLite console reads', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  let n = 0;
  const open = () => SqliteStore.open({ path: join(tmp.path, `console-${++n}.db`), synchronous: 'normal' });
  const commit = (store: SqliteStore, referralId: string, base: CanonicalRecord, syncState: Link['syncState'] = 'ok', connection = 'dynamics') =>
    store.sync.commit({
      link: { connection, referralId, crmEntity: 'opportunity', crmId: `crm-${referralId}`, base, pcEtag: null, crmVersion: null, syncState, lastError: syncState === 'error' ? 'boom' : null },
      audit: [],
      holdConflicts: [],
      releaseConflicts: [],
    });

  it('lists links and referrals only a job or dead letter names, with the worst state of each', async () => {
    const store = open();
    await commit(store, 'r-ok', { name: 'Contoso rollout', status: 'Active', microsoftStatus: 'Accepted' });
    await commit(store, 'r-err', { name: 'Broken deal' }, 'error');
    await commit(store, 'r-conflict', { name: 'Disputed deal' });
    await store.sync.commit({
      link: { connection: 'dynamics', referralId: 'r-conflict', crmEntity: 'opportunity', crmId: 'crm-r-conflict', base: { name: 'Disputed deal' }, pcEtag: null, crmVersion: null, syncState: 'ok', lastError: null },
      audit: [],
      holdConflicts: [{ field: 'notes', base: 'a', pc: 'b', crm: 'c' }],
      releaseConflicts: [],
    });
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r-dead' }]);
    await store.jobs.deadLetter((await store.jobs.claim(1, 1000))[0]!, '400 invalid');
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId: 'r-queued' }]);

    const { total, deals } = await store.console.deals({ limit: 50, offset: 0 });
    expect(total).toBe(5);
    const states = Object.fromEntries(deals.map((d) => [d.referralId, d.state]));
    expect(states).toEqual({ 'r-ok': 'ok', 'r-err': 'error', 'r-conflict': 'conflict', 'r-dead': 'dead-letter', 'r-queued': 'unlinked' });
    expect(deals.find((d) => d.referralId === 'r-ok')).toMatchObject({ name: 'Contoso rollout', status: 'Active', microsoftStatus: 'Accepted', crmId: 'crm-r-ok', lastSyncAt: expect.any(String) });

    expect((await store.console.deals({ limit: 50, offset: 0, state: 'conflict' })).deals.map((d) => d.referralId)).toEqual(['r-conflict']);
    expect((await store.console.deal('dynamics', 'r-dead'))?.state).toBe('dead-letter');
    expect(await store.console.deal('dynamics', 'nope')).toBeNull();
    expect(await store.console.pairDeadLetters('dynamics', 'r-dead', 10)).toEqual([expect.objectContaining({ referralId: 'r-dead', error: '400 invalid' })]);

    expect(await store.console.connectionCounts()).toEqual({
      dynamics: { synced: 2, needingAttention: 1, inConflict: 1, deadLettered: 1, retrying: 0, paused: 0, lastJobError: null },
    });
    await store.close();
  });

  it('searches name, customer, referral and CRM id case-insensitively, LIKE wildcards taken literally', async () => {
    const store = open();
    await commit(store, 'r1', { name: 'Contoso rollout' });
    await commit(store, 'r2', { name: 'Fabrikam 100% renewal', companyName: 'Fabrikam Ltd' });
    await commit(store, 'r3', { name: 'Other' }, 'ok', 'salesforce');
    const ids = async (search: string, connection?: string) => (await store.console.deals({ search, connection, limit: 50, offset: 0 })).deals.map((d) => d.referralId).sort();
    expect(await ids('contoso')).toEqual(['r1']);
    expect(await ids('FABRIKAM LTD')).toEqual(['r2']);
    expect(await ids('crm-r3')).toEqual(['r3']);
    expect(await ids('100%')).toEqual(['r2']);
    expect(await ids('%')).toEqual(['r2']);
    expect(await ids('_')).toEqual([]);
    expect(await ids('r', 'salesforce')).toEqual(['r3']);
    await store.close();
  });

  it('pages newest sync first, with the total of every match', async () => {
    const store = open();
    for (let i = 0; i < 30; i++) await commit(store, `r${String(i).padStart(2, '0')}`, { name: `Deal ${i}` });
    const first = await store.console.deals({ limit: 25, offset: 0 });
    const second = await store.console.deals({ limit: 25, offset: 25 });
    expect(first.total).toBe(30);
    expect(first.deals).toHaveLength(25);
    expect(second.deals).toHaveLength(5);
    const all = [...first.deals, ...second.deals];
    expect(new Set(all.map((d) => d.referralId)).size).toBe(30);
    const times = all.map((d) => d.lastSyncAt ?? '');
    expect([...times].sort().reverse()).toEqual(times);
    await store.close();
  });

  it('names deals by their last read: a customer for opportunities, unlinked referrals and CRM deals with no referral', async () => {
    const store = open();
    // An opportunity's base holds no customer name (the customer is a lookup): the label read from the referral does.
    await commit(store, 'r-opp', { name: 'Contoso rollout' });
    await store.sync.labelDeal({ connection: 'dynamics', referralId: 'r-opp', crmEntity: null, crmId: null, name: 'Contoso rollout', customer: 'Contoso Pharmaceuticals', respondBy: null });
    // A referral read but never linked (closed, or not for this CRM), and a CRM deal not sent to Partner Center.
    await store.sync.labelDeal({ connection: 'dynamics', referralId: 'r-closed', crmEntity: null, crmId: null, name: 'Old deal', customer: 'Tailspin Toys', respondBy: null });
    await store.sync.labelDeal({ connection: 'dynamics', referralId: null, crmEntity: 'opportunity', crmId: 'crm-only-1', name: 'Seller pipeline deal', customer: 'Wingtip Toys', respondBy: null });
    await store.sync.appendAudit([
      { connection: 'dynamics', referralId: null, crmEntity: 'opportunity', crmId: 'crm-only-1', direction: 'to-pc', field: null, oldValue: undefined, newValue: undefined, cause: 'event', outcome: 'failed', message: 'not sent to Partner Center: customer: missing' },
    ]);
    // A CRM record only a queued job names: listed as not linked.
    await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', crm: { entity: 'opportunity', id: 'crm-only-2' } }]);

    const { total, deals } = await store.console.deals({ limit: 50, offset: 0 });
    expect(total).toBe(4);
    expect(deals.find((d) => d.referralId === 'r-opp')).toMatchObject({ name: 'Contoso rollout', customer: 'Contoso Pharmaceuticals', state: 'ok' });
    expect(deals.find((d) => d.referralId === 'r-closed')).toMatchObject({ name: 'Old deal', customer: 'Tailspin Toys', state: 'unlinked', crmId: null });
    expect(deals.find((d) => d.crmId === 'crm-only-1')).toMatchObject({ referralId: null, crmEntity: 'opportunity', name: 'Seller pipeline deal', customer: 'Wingtip Toys', state: 'error' });
    expect(deals.find((d) => d.crmId === 'crm-only-2')).toMatchObject({ referralId: null, state: 'unlinked', name: null });

    const find = async (search: string) => (await store.console.deals({ search, limit: 50, offset: 0 })).deals.map((d) => d.referralId ?? d.crmId);
    expect(await find('pharmaceuticals')).toEqual(['r-opp']);
    expect(await find('wingtip')).toEqual(['crm-only-1']);
    expect(await find('crm-only-1')).toEqual(['crm-only-1']);
    expect((await store.console.deals({ state: 'error', limit: 50, offset: 0 })).deals.map((d) => d.crmId)).toEqual(['crm-only-1']);
    expect((await store.console.crmDeal('dynamics', 'opportunity', 'crm-only-1'))?.name).toBe('Seller pipeline deal');

    // Once the CRM deal is linked it is listed by its referral, once.
    await commit(store, 'r-new', { name: 'Seller pipeline deal' });
    await store.sync.commit({
      link: { connection: 'dynamics', referralId: 'r-new', crmEntity: 'opportunity', crmId: 'crm-only-1', base: { name: 'Seller pipeline deal' }, pcEtag: null, crmVersion: null, syncState: 'ok', lastError: null },
      audit: [],
      holdConflicts: [],
      releaseConflicts: [],
    });
    expect(await store.console.crmDeal('dynamics', 'opportunity', 'crm-only-1')).toBeNull();
    expect(await find('seller pipeline')).toEqual(['r-new']);
    await store.close();
  });

  it('pauses a linked pair (audited once, counted, listed as paused) and resumes it with a manual sync queued', async () => {
    const store = open();
    await commit(store, 'r-p', { name: 'Paused deal' });
    expect(await store.sync.pausePair('dynamics', 'nope')).toBe(false);
    expect(await store.sync.pausePair('dynamics', 'r-p')).toBe(true);
    expect(await store.sync.pausePair('dynamics', 'r-p')).toBe(false);
    expect(await store.sync.isPaused('dynamics', 'r-p')).toBe(true);
    expect(await store.console.deal('dynamics', 'r-p')).toMatchObject({ state: 'paused', paused: true });
    expect((await store.console.connectionCounts()).dynamics?.paused).toBe(1);
    expect((await store.sync.audit({ referralId: 'r-p', limit: 10 })).map((e) => e.message)).toEqual([expect.stringContaining('paused by an operator')]);
    expect(await store.jobs.depth()).toBe(0);

    expect(await store.sync.resumePair('dynamics', 'r-p')).toBe(true);
    expect(await store.sync.resumePair('dynamics', 'r-p')).toBe(false);
    expect(await store.sync.isPaused('dynamics', 'r-p')).toBe(false);
    expect((await store.console.deal('dynamics', 'r-p'))?.state).toBe('ok');
    expect(await store.jobs.depth()).toBe(1);
    expect((await store.jobs.claim(1, 1000))[0]).toMatchObject({ referralId: 'r-p', cause: 'manual' });
    expect((await store.sync.audit({ referralId: 'r-p', limit: 10 }))[0]?.message).toContain('resumed by an operator');
    await store.close();
  });

  it("keeps an operator's and a seller's pause apart: each lifts its own, the sync is queued when none is left", async () => {
    const store = open();
    await commit(store, 'r-s', { name: 'Seller paused deal' });
    const seller = { by: 'seller', crm: 'Dynamics' } as const;
    expect(await store.sync.pausePair('dynamics', 'r-s', seller)).toBe(true);
    expect(await store.sync.pausePair('dynamics', 'r-s')).toBe(true);
    expect(await store.sync.pausedBy('dynamics', 'r-s')).toEqual(['operator', 'seller']);
    expect((await store.console.connectionCounts()).dynamics?.paused).toBe(1);
    expect(await store.sync.resumePair('dynamics', 'r-s', seller)).toBe(true);
    expect(await store.sync.isPaused('dynamics', 'r-s')).toBe(true);
    expect(await store.jobs.depth()).toBe(0);
    expect(await store.sync.resumePair('dynamics', 'r-s')).toBe(true);
    expect((await store.jobs.claim(1, 1000))[0]).toMatchObject({ referralId: 'r-s', crmId: 'crm-r-s' });
    const messages = (await store.sync.audit({ referralId: 'r-s', limit: 10 })).map((e) => e.message);
    expect(messages).toEqual([
      expect.stringContaining('resumed by an operator: both sides are merged'),
      expect.stringContaining('Sync with Partner Center set to Yes in Dynamics: still paused by an operator'),
      expect.stringContaining('paused by an operator'),
      expect.stringContaining('Sync with Partner Center set to No in Dynamics'),
    ]);
    await store.close();
  });

  it("migrates a pause made by an earlier release as an operator's", async () => {
    const path = join(tmp.path, 'pause-migration.db');
    const first = SqliteStore.open({ path, synchronous: 'normal' });
    await first.close();
    const raw = openDatabase(path);
    const version = raw.prepare<[], { user_version: number }>('PRAGMA user_version').get()?.user_version ?? 0;
    raw.exec(`DROP TABLE paused_pairs;
      CREATE TABLE paused_pairs (connection TEXT NOT NULL, referral_id TEXT NOT NULL, paused_at TEXT NOT NULL, PRIMARY KEY (connection, referral_id));
      INSERT INTO paused_pairs VALUES ('dynamics', 'r-old', '2026-01-01T00:00:00.000Z');
      PRAGMA user_version = ${version - 1};`);
    raw.close();
    const store = SqliteStore.open({ path, synchronous: 'normal' });
    expect(await store.sync.pausedBy('dynamics', 'r-old')).toEqual(['operator']);
    await store.close();
  });

  it('lists incoming referrals whose answer is due by a time, once per referral, until marked alerted', async () => {
    const store = open();
    const label = (connection: string, referralId: string, respondBy: string | null) =>
      store.sync.labelDeal({ connection, referralId, crmEntity: null, crmId: null, name: `Deal ${referralId}`, customer: 'Contoso', respondBy });
    await label('dynamics', 'soon', '2026-01-10T00:00:00Z');
    await label('salesforce', 'soon', '2026-01-10T00:00:00Z');
    await label('dynamics', 'later', '2026-01-20T00:00:00Z');
    await label('dynamics', 'answered', null);
    expect(await store.console.responsesDue('2026-01-12T00:00:00Z')).toEqual([{ connection: 'dynamics', referralId: 'soon', name: 'Deal soon', customer: 'Contoso', respondBy: '2026-01-10T00:00:00Z' }]);
    await store.console.markResponseAlerted('soon');
    expect(await store.console.responsesDue('2026-01-12T00:00:00Z')).toEqual([]);
    // Accepted meanwhile: the next read clears the deadline.
    await label('dynamics', 'later', null);
    expect(await store.console.responsesDue('2026-02-01T00:00:00Z')).toEqual([]);
    expect((await store.console.deal('dynamics', 'later'))?.respondBy).toBeNull();
    await store.close();
  });

  it('names the deals a page of dead letters and conflicts is about, in one read', async () => {
    const store = open();
    await commit(store, 'r-base', { name: 'Named by its base' });
    await store.sync.labelDeal({ connection: 'dynamics', referralId: 'r-label', crmEntity: null, crmId: null, name: 'Named by its label', customer: null, respondBy: null });
    await store.sync.labelDeal({ connection: 'dynamics', referralId: null, crmEntity: 'opportunity', crmId: 'o-1', name: 'A CRM deal', customer: null, respondBy: null });
    const deals = [
      { connection: 'dynamics', referralId: 'r-base', crmEntity: null, crmId: null },
      { connection: 'dynamics', referralId: 'r-label', crmEntity: null, crmId: null },
      { connection: 'dynamics', referralId: null, crmEntity: 'opportunity', crmId: 'o-1' },
      { connection: 'dynamics', referralId: 'r-unknown', crmEntity: null, crmId: null },
      { connection: 'salesforce', referralId: 'r-base', crmEntity: null, crmId: null },
    ];
    const names = await store.console.dealNames(deals);
    expect(deals.map((d) => names.get(dealKey(d)))).toEqual(['Named by its base', 'Named by its label', 'A CRM deal', undefined, undefined]);
    expect((await store.console.dealNames([])).size).toBe(0);
    await store.close();
  });
});
