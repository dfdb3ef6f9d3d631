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

describe('PairSync.backfill', () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('creates and links unlinked referrals that belong in the CRM in one batch; closed and linked ones are left alone', async () => {
    store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const crm = new BulkCrm();
    const connections = new Map([[crm.name, { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: true } }]]);
    const sync = new PairSync({ store, referrals: new FakeReferrals(), connections, merge: mergeRecord, logger: silentLogger() });
    const open = [referral({ id: 'ref-1', name: 'One', eTag: 'e-1' }), referral({ id: 'ref-2', name: 'Two' })];
    const closed = referral({ id: 'ref-3', status: 'Closed', substatus: 'Won' });
    const linked = await sync.backfill('crm', [...open, closed]);
    expect([...linked].sort()).toEqual(['ref-1', 'ref-2']);
    expect(crm.batches.map((b) => b.map((i) => i.referralId))).toEqual([['ref-1', 'ref-2']]);
    expect(store.sync.getLink('crm', 'ref-1')).toMatchObject({ pcEtag: 'e-1', crmVersion: null, base: { name: 'One', referralId: 'ref-1', syncWithPartnerCenter: true } });
    expect(store.sync.getLink('crm', 'ref-3')).toBeNull();
    expect(store.sync.audit({ referralId: 'ref-1', limit: 5 })[0]).toMatchObject({ outcome: 'created', cause: 'reconcile', message: 'opportunity created from referral (backfill)' });
    expect(await sync.backfill('crm', open)).toEqual(new Set());
  });

  it('does nothing for a connector without a bulk API', async () => {
    store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
    const crm = new FakeCrm();
    const connections = new Map([[crm.name, { connector: crm, mappings: { opportunity: testMapping() }, policy: { leads: false, ownsReferralCrmId: true } }]]);
    const sync = new PairSync({ store, referrals: new FakeReferrals(), connections, merge: mergeRecord, logger: silentLogger() });
    expect(await sync.backfill('crm', [referral({ id: 'ref-1' })])).toEqual(new Set());
    expect(crm.records.size).toBe(0);
  });
});
