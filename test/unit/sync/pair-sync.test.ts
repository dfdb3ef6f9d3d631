import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { Job, SyncState } from '../../../src/store/types.ts';
import { mergeRecord } from '../../../src/sync/merge/index.ts';
import { PairSync, type ConnectionSetup } from '../../../src/sync/pair-sync.ts';
import type { SyncStorePort } from '../../../src/sync/ports.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { FakeCrm, FakeReferrals, testMapping } from './sync-fakes.ts';

/*
 * PairSync end to end over in-memory fakes of the CRM connector and the referrals client, with an in-memory SQLite
 * store: the paths the sandbox suites cover, without a sandbox or HTTP.
 */

function job(over: Partial<Job>): Job {
  return { key: 'k', connection: 'crm', referralId: null, crmEntity: null, crmId: null, cause: 'event', microsoftSide: true, generation: 0, attempts: 0, lastError: null, ...over };
}

function connection(crm: FakeCrm, ownsReferralCrmId = true): ConnectionSetup {
  return { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId } };
}

function world(crms: FakeCrm[] = [new FakeCrm()]) {
  const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
  const referrals = new FakeReferrals();
  const connections = new Map(crms.map((crm, i) => [crm.name, connection(crm, i === 0)]));
  const sync = (s: SyncStorePort = store) => new PairSync({ store: s, referrals, connections, merge: mergeRecord, logger: silentLogger() });
  return { store, referrals, crm: crms[0] as FakeCrm, crms, sync };
}

const forReferral = (referralId: string, connectionName = 'crm') => job({ connection: connectionName, referralId });
const opportunityOf = (crm: FakeCrm, referralId: string) => [...crm.records.values()].find((r) => r.referralId === referralId);

/** A referral synced once: linked to its new opportunity (`id`). */
async function linkedDeal() {
  const w = world();
  w.referrals.put({ id: 'ref-1', name: 'Deal', details: { dealValue: 100 } });
  const sync = w.sync();
  await sync.handler(forReferral('ref-1'));
  return { w, sync, id: opportunityOf(w.crm, 'ref-1')?.record.ref.id ?? '' };
}

describe('PairSync over in-memory fakes', () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it("a notification of an unchanged linked referral (the echo of our own write) costs the referral's read, no CRM read", async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-echo', name: 'Echoed deal' });
    await w.sync().handler(forReferral('ref-echo'));
    w.crm.calls.length = 0;
    await w.sync().handler(job({ referralId: 'ref-echo', microsoftSide: false }));
    expect(w.crm.calls).toEqual([]);
    // A change of the referral does read (and sync) the CRM record.
    w.referrals.edit('ref-echo', [{ path: ['name'], value: 'Renamed by Microsoft' }]);
    await w.sync().handler(job({ referralId: 'ref-echo', microsoftSide: false }));
    expect(w.crm.calls.some((call) => call.startsWith('read '))).toBe(true);
    expect(opportunityOf(w.crm, 'ref-echo')?.record.values).toMatchObject({ name: 'Renamed by Microsoft' });
  });

  it('a new referral becomes a CRM opportunity, linked, with the CRM id written back to the referral', async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-1', name: 'Shared deal', details: { dealValue: 1_000 } });
    await w.sync().handler(forReferral('ref-1'));
    const opportunity = opportunityOf(w.crm, 'ref-1');
    expect(opportunity?.record.values).toMatchObject({ name: 'Shared deal', value: 1_000, referralid: 'ref-1', syncwithpc: true });
    expect(await w.store.sync.getLink('crm', 'ref-1')).toMatchObject({ crmId: opportunity?.record.ref.id, syncState: 'ok' });
    expect(w.referrals.must('ref-1').referral.externalReferenceId).toBe(opportunity?.record.ref.id);
    expect((await w.store.sync.audit({ referralId: 'ref-1', limit: 10 })).map((a) => a.outcome).sort()).toEqual(['created', 'linked']);
  });

  it('a create whose answer was lost keeps the seller edit made before the retry found the record', async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-lost', name: 'Lost answer', details: { dealValue: 1_000, notes: 'from Microsoft' } });
    w.crm.loseNextCreateAnswer = (ref) => w.crm.edit(ref.id, { notes: 'Seller edit' });
    await w.sync().handler(forReferral('ref-lost'));
    const opportunity = opportunityOf(w.crm, 'ref-lost');
    expect(opportunity?.record.values.notes).toBe('Seller edit');
    expect(w.referrals.must('ref-lost').referral.details?.notes).toBe('Seller edit');
    expect((await w.store.sync.audit({ referralId: 'ref-lost', limit: 10 })).map((a) => a.message)).toContain('found the opportunity an earlier attempt created');
  });

  it('a CRM deal marked for Partner Center becomes a referral, and the referral id comes back to the deal', async () => {
    const w = world();
    store = w.store;
    const ref = w.crm.add({ name: 'CRM deal', value: 10, statuscode: 'Active', syncwithpc: true }, { name: 'Contoso', country: 'US', contacts: [] });
    await w.sync().handler(job({ crmEntity: 'opportunity', crmId: ref.id }));
    expect(w.referrals.created).toHaveLength(1);
    expect(w.referrals.created[0]).toMatchObject({ name: 'CRM deal', externalReferenceId: ref.id });
    const link = await w.store.sync.findLinkByCrm('crm', 'opportunity', ref.id);
    expect(link).not.toBeNull();
    expect(w.crm.get(ref.id).record.values.referralid).toBe(link?.referralId);
  });

  it('a CRM deal Partner Center would reject is not sent: the record shows why', async () => {
    const w = world();
    store = w.store;
    const ref = w.crm.add({ name: 'No customer', syncwithpc: true }, { name: '', contacts: [] });
    await w.sync().handler(job({ crmEntity: 'opportunity', crmId: ref.id }));
    expect(w.referrals.created).toEqual([]);
    expect(w.crm.get(ref.id).status?.ok).toBe(false);
    expect(w.crm.get(ref.id).status?.auditLines).toEqual([
      expect.stringContaining('not sent to Partner Center: customer: the customer account has no name'),
      expect.stringContaining('not sent to Partner Center: customer.country:'),
    ]);
    expect((await w.store.sync.audit({ crmId: ref.id, limit: 10 })).map((a) => a.outcome)).toEqual(['failed', 'failed']);
  });

  it('merges both ways: a Partner Center edit reaches the CRM and a CRM edit reaches Partner Center in one sync', async () => {
    const { w, sync, id } = await linkedDeal();
    store = w.store;
    w.referrals.edit('ref-1', [{ path: ['name'], value: 'Renamed in PC' }]);
    w.crm.edit(id, { value: 150 });
    await sync.handler(forReferral('ref-1'));
    expect(w.crm.get(id).record.values.name).toBe('Renamed in PC');
    expect(w.referrals.must('ref-1').referral.details?.dealValue).toBe(150);
    expect((await w.store.sync.getLink('crm', 'ref-1'))?.base).toMatchObject({ name: 'Renamed in PC', dealValue: 150 });
  });

  it('a paused pair is skipped both ways, and resuming merges both sides with nothing lost', async () => {
    const { w, sync, id } = await linkedDeal();
    store = w.store;
    expect(await w.store.sync.pausePair('crm', 'ref-1')).toBe(true);
    w.referrals.edit('ref-1', [{ path: ['name'], value: 'Renamed in PC' }]);
    w.crm.edit(id, { value: 150 });
    const crmCalls = w.crm.calls.length;
    const patches = w.referrals.patches.length;
    // Whichever side the job comes from, nothing is read or written while paused.
    await sync.handler(forReferral('ref-1'));
    await sync.handler(job({ crmEntity: 'opportunity', crmId: id }));
    expect(w.crm.calls.slice(crmCalls)).toEqual([]);
    expect(w.referrals.patches.length).toBe(patches);
    expect(w.crm.get(id).record.values.name).toBe('Deal');

    expect(await w.store.sync.resumePair('crm', 'ref-1')).toBe(true);
    const [queued] = await w.store.jobs.claim(1, 1000);
    await sync.handler(queued ?? forReferral('ref-1'));
    expect(w.crm.get(id).record.values.name).toBe('Renamed in PC');
    expect(w.referrals.must('ref-1').referral.details?.dealValue).toBe(150);
    expect((await w.store.sync.audit({ referralId: 'ref-1', limit: 50 })).filter((e) => e.message?.includes('paused by an operator'))).toHaveLength(1);
  });

  it("a seller's Sync with Partner Center = No pauses the pair both ways (audited once, Sync Status Paused); Yes merges both sides", async () => {
    const { w, sync, id } = await linkedDeal();
    store = w.store;
    const fromCrm = job({ crmEntity: 'opportunity', crmId: id });
    w.crm.edit(id, { syncwithpc: false });
    await sync.handler(fromCrm);
    expect(await w.store.sync.pausedBy('crm', 'ref-1')).toEqual(['seller']);
    expect(w.crm.get(id).status).toMatchObject({ paused: true });
    // Edits on both sides meanwhile: neither flows, whichever side the job comes from (the echo of "Paused" included).
    w.referrals.edit('ref-1', [{ path: ['name'], value: 'Renamed in PC' }]);
    w.crm.edit(id, { value: 150 });
    const patches = w.referrals.patches.length;
    const crmCalls = w.crm.calls.length;
    await sync.handler(forReferral('ref-1'));
    await sync.handler(fromCrm);
    // Only the job about the record reads it (to see the switch), and nothing is written.
    expect(w.crm.calls.slice(crmCalls)).toEqual([`read ${id}`]);
    expect(w.referrals.patches.length).toBe(patches);
    expect(w.crm.get(id).record.values.name).toBe('Deal');
    expect(await w.store.jobs.claim(1, 1000)).toEqual([]);

    w.crm.edit(id, { syncwithpc: true });
    await sync.handler(fromCrm);
    expect(await w.store.sync.isPaused('crm', 'ref-1')).toBe(false);
    const [queued] = await w.store.jobs.claim(1, 1000);
    expect(queued).toMatchObject({ referralId: 'ref-1', crmId: id });
    await sync.handler(queued!);
    expect(w.crm.get(id).record.values.name).toBe('Renamed in PC');
    expect(w.referrals.must('ref-1').referral.details?.dealValue).toBe(150);
    expect(w.crm.get(id).status).toMatchObject({ ok: true });
    expect(w.crm.get(id).status?.paused).toBeFalsy();
    const notes = (await w.store.sync.audit({ referralId: 'ref-1', limit: 50 })).map((e) => e.message ?? '');
    expect(notes.filter((m) => m.includes('Sync with Partner Center set to No in Salesforce'))).toHaveLength(1);
    expect(notes.filter((m) => m.includes('Sync with Partner Center set to Yes in Salesforce'))).toHaveLength(1);
  });

  it("a seller's Yes does not lift an operator's pause, nor an operator's resume a seller's No", async () => {
    const { w, sync, id } = await linkedDeal();
    store = w.store;
    const fromCrm = job({ crmEntity: 'opportunity', crmId: id });
    expect(await w.store.sync.pausePair('crm', 'ref-1')).toBe(true);
    // A No set during an operator's pause: the record is not read then, but the sync the resume queues reads it first.
    w.crm.edit(id, { syncwithpc: false, value: 150 });
    await sync.handler(fromCrm);
    expect(await w.store.sync.resumePair('crm', 'ref-1')).toBe(true);
    const [queued] = await w.store.jobs.claim(1, 1000);
    await sync.handler(queued!);
    await w.store.jobs.complete(queued!);
    expect(await w.store.sync.pausedBy('crm', 'ref-1')).toEqual(['seller']);
    expect(w.referrals.must('ref-1').referral.details?.dealValue).toBe(100);
    // The operator cannot resume over the seller's No.
    expect(await w.store.sync.resumePair('crm', 'ref-1')).toBe(false);

    expect(await w.store.sync.pausePair('crm', 'ref-1')).toBe(true);
    expect(await w.store.sync.pausedBy('crm', 'ref-1')).toEqual(['operator', 'seller']);
    w.crm.edit(id, { syncwithpc: true });
    await sync.handler(fromCrm);
    expect(await w.store.sync.pausedBy('crm', 'ref-1')).toEqual(['operator']);
    expect(await w.store.jobs.claim(1, 1000)).toEqual([]);
    expect(w.referrals.must('ref-1').referral.details?.dealValue).toBe(100);
    expect(await w.store.sync.resumePair('crm', 'ref-1')).toBe(true);
    const [merge] = await w.store.jobs.claim(1, 1000);
    await sync.handler(merge!);
    expect(w.referrals.must('ref-1').referral.details?.dealValue).toBe(150);
  });

  it('logs one info line per sync (pair, fields each way, outcome); the settled echo after it logs none', async () => {
    const { w, id } = await linkedDeal();
    store = w.store;
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
    const sync = new PairSync({ store: w.store, referrals: w.referrals, connections: new Map([['crm', connection(w.crm)]]), merge: mergeRecord, logger });
    w.referrals.edit('ref-1', [{ path: ['name'], value: 'Renamed in PC' }]);
    w.crm.edit(id, { value: 150 });
    await sync.handler(forReferral('ref-1'));
    await sync.handler(forReferral('ref-1'));
    const synced = lines.filter((l) => l.msg === 'pair synced');
    expect(synced.map((l) => [l.level, l.outcome])).toEqual([[30, 'written']]);
    expect(synced[0]).toMatchObject({ connection: 'crm', referralId: 'ref-1', crm: `opportunity:${id}`, toCrm: ['name'], toPc: ['dealValue'], held: [] });
  });

  it('the echo of its own writes costs no write', async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-1' });
    const sync = w.sync();
    await sync.handler(forReferral('ref-1'));
    const calls = w.crm.calls.length;
    const patches = w.referrals.patches.length;
    await sync.handler(forReferral('ref-1'));
    expect(w.crm.calls.slice(calls).filter((c) => !c.startsWith('read'))).toEqual([]);
    expect(w.referrals.patches.length).toBe(patches);
  });

  it('re-plans after a 412 from the CRM, keeping the seller’s edit that caused it', async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-1', details: { dealValue: 100 } });
    const sync = w.sync();
    await sync.handler(forReferral('ref-1'));
    const id = opportunityOf(w.crm, 'ref-1')?.record.ref.id ?? '';
    w.referrals.edit('ref-1', [{ path: ['name'], value: 'PC name' }]);
    const update = w.crm.update.bind(w.crm);
    let raced = false;
    w.crm.update = async (...args) => {
      if (!raced) {
        raced = true;
        w.crm.edit(id, { notes: 'typed meanwhile' });
      }
      return update(...args);
    };
    await sync.handler(forReferral('ref-1'));
    expect(w.crm.get(id).record.values).toMatchObject({ name: 'PC name', notes: 'typed meanwhile' });
    expect(w.referrals.must('ref-1').referral.details?.notes).toBe('typed meanwhile');
  });

  it('after a crash between the CRM write and the commit, the next run recognises the landed write as its own', async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-1', details: { dealValue: 100 } });
    await w.sync().handler(forReferral('ref-1'));
    const id = opportunityOf(w.crm, 'ref-1')?.record.ref.id ?? '';
    w.referrals.edit('ref-1', [{ path: ['details', 'dealValue'], value: 200 }], '2026-01-01T10:30:00.000Z');
    const dies = Object.create(w.store.sync, { commit: { value: () => { throw new Error('simulated crash'); } } }) as SyncState;
    await expect(w.sync({ sync: dies, inbox: w.store.inbox, jobs: w.store.jobs }).handler(forReferral('ref-1'))).rejects.toThrow('simulated crash');
    expect(w.crm.get(id).record.values.value).toBe(200);
    expect(await w.store.sync.getIntent('crm', 'ref-1', 'opportunity')).toMatchObject({ toCrm: { dealValue: 200 } });
    // A Microsoft seller edits again before the restart; the CRM's write is newer than this edit, and still it must
    // not count as a seller's change.
    w.referrals.edit('ref-1', [{ path: ['details', 'dealValue'], value: 300 }], '2026-01-01T10:45:00.000Z');
    await w.sync().handler(forReferral('ref-1'));
    expect(w.crm.get(id).record.values.value).toBe(300);
    expect(w.referrals.must('ref-1').referral.details?.dealValue).toBe(300);
    expect(await w.store.sync.getIntent('crm', 'ref-1', 'opportunity')).toBeNull();
    expect((await w.store.sync.audit({ referralId: 'ref-1', limit: 20 })).filter((a) => a.outcome === 'conflict')).toEqual([]);
  });

  it('a dead letter of the pair is closed by a later successful sync', async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-1' });
    const sync = w.sync();
    const create = w.crm.createForReferral.bind(w.crm);
    w.crm.createForReferral = async () => {
      throw Object.assign(new Error('CRM refused'), { retryable: false });
    };
    await w.store.jobs.enqueue([{ connection: 'crm', cause: 'event', referralId: 'ref-1' }]);
    const [failing] = await w.store.jobs.claim(1, 60_000);
    await expect(sync.handler(failing as Job)).rejects.toThrow('CRM refused');
    await w.store.jobs.deadLetter(failing as Job, 'CRM refused');
    expect(await w.store.sync.deadLetters({ open: true, limit: 10 })).toHaveLength(1);

    w.crm.createForReferral = create;
    await w.store.jobs.enqueue([{ connection: 'crm', cause: 'event', referralId: 'ref-1' }]);
    const [retried] = await w.store.jobs.claim(1, 60_000);
    await sync.handler(retried as Job);
    await w.store.jobs.complete(retried as Job);
    expect(await w.store.sync.deadLetters({ open: true, limit: 10 })).toEqual([]);
    expect((await w.store.sync.deadLetters({ limit: 10 }))[0]).toMatchObject({ resolvedBy: 'sync' });
  });

  it("Microsoft's referral of an engagement is never linked: the partner's referral is queued instead", async () => {
    const w = world();
    store = w.store;
    w.referrals.put({ id: 'ref-1', engagementId: 'eng-1', organizationId: 'partner-org' });
    w.referrals.put({ id: 'ms-1', engagementId: 'eng-1', organizationId: 'msft' });
    await w.sync().handler(forReferral('ms-1'));
    expect(await w.store.sync.getLink('crm', 'ms-1')).toBeNull();
    expect(w.crm.records.size).toBe(0);
    expect(w.referrals.patches).toEqual([]);
    expect((await w.store.jobs.claim(10, 60_000)).map((j) => [j.referralId, j.microsoftSide])).toEqual([['ref-1', true]]);
  });

  it('the two connections’ jobs of one echo share one referral read; a job enqueued after that read reads again', async () => {
    const w = world([new FakeCrm('dynamics'), new FakeCrm('salesforce')]);
    store = w.store;
    w.referrals.put({ id: 'ref-1', name: 'Deal' });
    const sync = w.sync();
    await sync.handler(forReferral('ref-1', 'dynamics'));
    await sync.handler(forReferral('ref-1', 'salesforce'));
    const gets: string[] = [];
    const get = w.referrals.get.bind(w.referrals);
    w.referrals.get = (id) => {
      gets.push(id);
      return get(id);
    };
    // The echo is enqueued after the linking jobs' reads, and its jobs start a moment later (on a later millisecond).
    const enqueuedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const echo = (name: string) => job({ connection: name, referralId: 'ref-1', microsoftSide: false, enqueuedAt });
    await Promise.all([sync.handler(echo('dynamics')), sync.handler(echo('salesforce'))]);
    expect(gets).toEqual(['ref-1']);
    // A seller's edit after that read: its job (enqueued after the read started) must not be handed the old read.
    w.referrals.edit('ref-1', [{ path: ['name'], value: 'Renamed by Microsoft' }]);
    await sync.handler(job({ connection: 'salesforce', referralId: 'ref-1', microsoftSide: false, enqueuedAt: Date.now() + 1 }));
    expect(gets).toEqual(['ref-1', 'ref-1']);
    expect(opportunityOf(w.crms[1] as FakeCrm, 'ref-1')?.record.values).toMatchObject({ name: 'Renamed by Microsoft' });
  });

  it('with two connections only the owning one writes the referral’s CRM id, whichever syncs first', async () => {
    const w = world([new FakeCrm('dynamics'), new FakeCrm('salesforce')]);
    store = w.store;
    w.referrals.put({ id: 'ref-1' });
    const sync = w.sync();
    await sync.handler(forReferral('ref-1', 'salesforce'));
    expect(w.referrals.must('ref-1').referral.externalReferenceId ?? null).toBeNull();
    await sync.handler(forReferral('ref-1', 'dynamics'));
    await sync.handler(forReferral('ref-1', 'salesforce'));
    const owner = opportunityOf(w.crms[0] as FakeCrm, 'ref-1')?.record.ref.id;
    expect(owner).toMatch(/^dynamics-/);
    expect(w.referrals.must('ref-1').referral.externalReferenceId).toBe(owner);
    expect(opportunityOf(w.crms[1] as FakeCrm, 'ref-1')).toBeDefined();
  });
});
