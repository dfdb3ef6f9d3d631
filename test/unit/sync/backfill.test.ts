import { afterEach, describe, expect, it } from 'vitest';
import type { BulkCreateItem, BulkCreateResult, CrmEntityName, CustomerRefs } from '../../../src/crm/connector.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { mergeRecord } from '../../../src/sync/merge/index.ts';
import { PairSync } from '../../../src/sync/pair-sync.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { FakeCrm, FakeReferrals, referral, testMapping } from './sync-fakes.ts';

/** A CRM with a bulk API (as Salesforce's sObject Collections): one call per batch. */
class BulkCrm extends FakeCrm {
  readonly batches: BulkCreateItem[][] = [];

  async ensureCustomers(customers: readonly unknown[]): Promise<CustomerRefs[]> {
    return customers.map((_, i) => ({ account: { entity: 'account', id: `acct-${i}` }, contacts: [], created: [] }));
  }

  async createManyForReferrals(entity: CrmEntityName, items: readonly BulkCreateItem[]): Promise<BulkCreateResult[]> {
    this.batches.push([...items]);
    const results: BulkCreateResult[] = [];
    for (const item of items) {
      const created = await this.createForReferral(entity, item.referralId, item.values, item.customer, [], item.status);
      results.push({ referralId: item.referralId, outcome: 'created', ref: created.ref });
    }
    return results;
  }
}

/** A bulk CRM whose creates answer the record's version, as Dataverse's do. */
class VersionedBulkCrm extends FakeCrm {
  async ensureCustomers(customers: readonly unknown[]): Promise<CustomerRefs[]> {
    return customers.map((_, i) => ({ account: { entity: 'account', id: `acct-${i}` }, contacts: [], created: [] }));
  }

  async createManyForReferrals(entity: CrmEntityName, items: readonly BulkCreateItem[]): Promise<BulkCreateResult[]> {
    return items.map((item) => ({ referralId: item.referralId, outcome: 'created', ref: { entity, id: `opp-${item.referralId}` }, version: `v-${item.referralId}` }));
  }
}

describe('PairSync.backfill', () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('creates and links unlinked referrals that belong in the CRM in one batch; closed and linked ones are left alone', async () => {
    store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const crm = new BulkCrm();
    // A second CRM: the referral's "CRM ID" belongs to another connection, so nothing is written to Partner Center.
    const connections = new Map([[crm.name, { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: false } }]]);
    const sync = new PairSync({ store, referrals: new FakeReferrals(), connections, merge: mergeRecord, logger: silentLogger() });
    const open = [referral({ id: 'ref-1', name: 'One', eTag: 'e-1' }), referral({ id: 'ref-2', name: 'Two' })];
    const closed = referral({ id: 'ref-3', status: 'Closed', substatus: 'Won' });
    const { linked } = await sync.backfill('crm', [...open, closed]);
    expect([...linked].sort()).toEqual(['ref-1', 'ref-2']);
    expect(crm.batches.map((b) => b.map((i) => i.referralId))).toEqual([['ref-1', 'ref-2']]);
    expect(await store.sync.getLink('crm', 'ref-1')).toMatchObject({ pcEtag: 'e-1', crmVersion: null, base: { name: 'One', referralId: 'ref-1', syncWithPartnerCenter: true } });
    expect(await store.sync.getLink('crm', 'ref-3')).toBeNull();
    expect((await store.sync.audit({ referralId: 'ref-1', limit: 5 }))[0]).toMatchObject({ outcome: 'created', cause: 'reconcile', message: 'opportunity created from referral (backfill)' });
    expect((await sync.backfill('crm', open)).linked).toEqual(new Set());
  });

  it('leaves a referral whose "CRM ID" no link of ours explains to the one-at-a-time path (its record may exist: a crash lost the link commit)', async () => {
    store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const crm = new BulkCrm();
    const connections = new Map([[crm.name, { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: false } }]]);
    const sync = new PairSync({ store, referrals: new FakeReferrals(), connections, merge: mergeRecord, logger: silentLogger() });
    const bornInCrm = referral({ id: 'ref-1', name: 'Made in the CRM', direction: 'Outgoing', externalReferenceId: 'opp-existing' });
    const fresh = referral({ id: 'ref-2', name: 'Shared by Microsoft' });
    const { linked } = await sync.backfill('crm', [bornInCrm, fresh]);
    expect([...linked]).toEqual(['ref-2']);
    expect(crm.batches.map((b) => b.map((i) => i.referralId))).toEqual([['ref-2']]);
    expect(await store.sync.getLink('crm', 'ref-1')).toBeNull();
  });

  it('does nothing for a connector without a bulk API', async () => {
    store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const crm = new FakeCrm();
    const connections = new Map([[crm.name, { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: true } }]]);
    const sync = new PairSync({ store, referrals: new FakeReferrals(), connections, merge: mergeRecord, logger: silentLogger() });
    expect((await sync.backfill('crm', [referral({ id: 'ref-1' })])).linked).toEqual(new Set());
    expect(crm.records.size).toBe(0);
  });

  it("writes the CRM id to each referral when the connection owns it, If-Match the listed version, and links the new version", async () => {
    store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const crm = new VersionedBulkCrm();
    const referrals = new FakeReferrals();
    const one = referrals.put({ id: 'ref-1', name: 'One' });
    const two = referrals.put({ id: 'ref-2', name: 'Two' });
    const listed = [one, two].map((r) => ({ ...r, eTag: referrals.must(r.id).eTag }));
    referrals.edit('ref-2', [{ path: ['name'], value: 'Two, changed since the listing' }]);
    const connections = new Map([[crm.name, { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: true } }]]);
    const sync = new PairSync({ store, referrals, connections, merge: mergeRecord, logger: silentLogger() });
    const result = await sync.backfill('crm', listed);
    // ref-2 changed after the listing: its If-Match fails, so it is not counted as linked and its job writes the id.
    expect([...result.linked]).toEqual(['ref-1']);
    expect(referrals.patches).toEqual([{ id: 'ref-1', changes: [{ path: ['externalReferenceId'], value: 'opp-ref-1' }] }]);
    const after = referrals.must('ref-1');
    expect(await store.sync.getLink('crm', 'ref-1')).toMatchObject({ crmId: 'opp-ref-1', pcEtag: after.eTag, crmVersion: 'v-ref-1' });
    expect(result.referrals.find((r) => r.id === 'ref-1')).toMatchObject({ externalReferenceId: 'opp-ref-1', eTag: after.eTag });
    expect(result.referrals.find((r) => r.id === 'ref-2')).toBe(listed[1]);
  });

  it('runs a second connection\'s creates beside the first one\'s "CRM ID" writes, and links the version those wrote, labelled', async () => {
    store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const events: string[] = [];
    class LoggedCrm extends VersionedBulkCrm {
      override async createManyForReferrals(entity: CrmEntityName, items: readonly BulkCreateItem[]): Promise<BulkCreateResult[]> {
        events.push(`${this.name} creates`);
        return super.createManyForReferrals(entity, items);
      }
    }
    class SlowReferrals extends FakeReferrals {
      override async patch(id: string, changes: Parameters<FakeReferrals['patch']>[1], options: { ifMatch?: string }): Promise<{ eTag?: string }> {
        // Another turn of the event loop at least, as a real PATCH: the other connection's creates may run meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`patch ${id}`);
        return super.patch(id, changes, options);
      }
    }
    const referrals = new SlowReferrals();
    const listed = [referrals.put({ id: 'ref-1', name: 'One', status: 'New', substatus: 'Pending', direction: 'Incoming', expirationDateTime: '2026-02-01T00:00:00Z' })].map((r) => ({ ...r, eTag: referrals.must(r.id).eTag }));
    const [owner, other] = [new LoggedCrm('dynamics'), new LoggedCrm('salesforce')];
    const connections = new Map([
      [owner.name, { connector: owner, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: true } }],
      [other.name, { connector: other, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: false } }],
    ]);
    const sync = new PairSync({ store, referrals, connections, merge: mergeRecord, logger: silentLogger() });
    const first = sync.backfill('dynamics', listed);
    const second = sync.backfill('salesforce', listed, 'reconcile', first.then((result) => result.referrals));
    const [, result] = await Promise.all([first, second]);
    expect(events).toEqual(['dynamics creates', 'salesforce creates', 'patch ref-1']);
    const written = referrals.must('ref-1');
    expect(written.eTag).not.toBe(listed[0]?.eTag);
    // Both links hold the version the owner's write produced: the notification it raises finds both pairs settled.
    expect(await store.sync.getLink('salesforce', 'ref-1')).toMatchObject({ crmId: 'opp-ref-1', pcEtag: written.eTag });
    expect(await store.sync.getLink('dynamics', 'ref-1')).toMatchObject({ pcEtag: written.eTag });
    expect(result.referrals[0]).toMatchObject({ externalReferenceId: 'opp-ref-1', eTag: written.eTag });
    // Labelled in the link commit (respondBy comes from the label only), so the echo job's label writes nothing new.
    const { deals } = await store.console.deals({ connection: 'salesforce', limit: 10, offset: 0 });
    expect(deals).toEqual([expect.objectContaining({ referralId: 'ref-1', name: 'One', respondBy: expect.any(String) })]);
  });
});
