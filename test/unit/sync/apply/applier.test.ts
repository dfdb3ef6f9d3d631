import { afterEach, describe, expect, it } from 'vitest';
import { CrmPreconditionFailedError } from '../../../../src/crm/connector.ts';
import { SqliteStore } from '../../../../src/store/sqlite/index.ts';
import type { CanonicalRecord } from '../../../../src/canonical-value.ts';
import { applyReconcilePlan } from '../../../../src/sync/apply/applier.ts';
import type { ReconcilePlan } from '../../../../src/sync/plan/reconcile-plan.ts';
import { FakeCrm, FakeReferrals } from '../sync-fakes.ts';

/* The applier with in-memory fakes of both APIs and an in-memory SQLite store. */

const BASE: CanonicalRecord = { name: 'Deal', dealValue: 100 };

function setup() {
  const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
  const crm = new FakeCrm();
  const referrals = new FakeReferrals();
  referrals.put({ id: 'ref-1', details: { dealValue: 100 } });
  const ref = crm.add({ name: 'Deal', value: 100 }, { name: 'Contoso', contacts: [] });
  return { store, crm, referrals, ref, deps: { store, referrals, connector: crm } };
}

function planFor(s: ReturnType<typeof setup>, over: Partial<ReconcilePlan> = {}): ReconcilePlan {
  const { ref } = s;
  const written = { connection: 'crm', referralId: 'ref-1', crmEntity: 'opportunity', crmId: ref.id, direction: 'to-crm', field: 'name', oldValue: 'Deal', newValue: 'Deal 2', cause: 'event', outcome: 'written', message: null } as const;
  return {
    intent: { connection: 'crm', referralId: 'ref-1', crmEntity: 'opportunity', base: BASE, toCrm: { name: 'Deal 2' }, toPc: { dealValue: 250 } },
    crmUpdate: { ref, changes: { name: 'Deal 2' }, ifVersion: s.crm.get(ref.id).record.version, status: { ok: true }, fresh: [written] },
    pcPatch: { referralId: 'ref-1', changes: [{ path: ['details', 'dealValue'], value: 250 }], ifMatch: s.referrals.must('ref-1').eTag },
    commit: {
      link: { connection: 'crm', referralId: 'ref-1', crmEntity: 'opportunity', crmId: ref.id, base: { name: 'Deal 2', dealValue: 250 }, pcEtag: 'read-etag', crmVersion: 'read-version', syncState: 'ok', lastError: null },
      audit: [written],
      holdConflicts: [],
      releaseConflicts: [],
    },
    ...over,
  };
}

describe('applyReconcilePlan', () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('writes both sides and commits link, base and audit with the versions the writes returned', async () => {
    const s = setup();
    store = s.store;
    await applyReconcilePlan(s.deps, planFor(s));
    expect(s.crm.get(s.ref.id).record.values.name).toBe('Deal 2');
    expect(s.crm.get(s.ref.id).status?.auditLines[0]).toMatch(/written Partner Center → CRM name = "Deal 2"/);
    expect(s.referrals.must('ref-1').referral.details?.dealValue).toBe(250);
    const link = await s.store.sync.getLink('crm', 'ref-1');
    expect(link).toMatchObject({ base: { name: 'Deal 2', dealValue: 250 }, crmVersion: s.crm.get(s.ref.id).record.version, pcEtag: s.referrals.must('ref-1').eTag });
    expect(await s.store.sync.getIntent('crm', 'ref-1', 'opportunity')).toBeNull();
    expect((await s.store.sync.audit({ referralId: 'ref-1', limit: 10 })).map((a) => a.field)).toEqual(['name']);
  });

  it('announces the intent before the first write, and a failed write commits nothing (the intent stays for the next run)', async () => {
    const s = setup();
    store = s.store;
    s.crm.edit(s.ref.id, { name: 'seller edit' }); // the version the plan was made from is now stale
    await expect(applyReconcilePlan(s.deps, planFor(s, { crmUpdate: { ...planFor(s).crmUpdate!, ifVersion: 'v-stale' } }))).rejects.toBeInstanceOf(CrmPreconditionFailedError);
    expect(await s.store.sync.getIntent('crm', 'ref-1', 'opportunity')).toMatchObject({ toCrm: { name: 'Deal 2' } });
    expect(await s.store.sync.getLink('crm', 'ref-1')).toBeNull();
    expect(s.referrals.patches).toEqual([]);
  });

  it('keeps the versions read when it writes nothing', async () => {
    const s = setup();
    store = s.store;
    await applyReconcilePlan(s.deps, planFor(s, { intent: null, crmUpdate: null, pcPatch: null }));
    expect(s.crm.calls.filter((c) => c.startsWith('update'))).toEqual([]);
    expect(await s.store.sync.getLink('crm', 'ref-1')).toMatchObject({ pcEtag: 'read-etag', crmVersion: 'read-version' });
  });
});
