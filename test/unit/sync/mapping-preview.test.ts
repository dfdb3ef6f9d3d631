import { afterEach, describe, expect, it } from 'vitest';
import type { CrmEntityName, CrmRecord, CustomerRefs, SyncStatusUpdate } from '../../../src/crm/connector.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { previewMapping, MappingPreviewError } from '../../../src/sync/mapping-preview.ts';
import { mergeRecord } from '../../../src/sync/merge/index.ts';
import { PairSync, type ConnectionSetup } from '../../../src/sync/pair-sync.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { FakeCrm, FakeReferrals, testMapping } from './sync-fakes.ts';

/**
 * A connector whose create adds columns of its own (customer lookup, status, a default), as the real ones do, from one
 * body builder shared by `createForReferral` and `previewCreate` — the contract the preview relies on.
 */
class BodyBuildingCrm extends FakeCrm {
  readonly previews: Array<{ entity: CrmEntityName; referralId: string; customer: CustomerRefs | undefined }> = [];

  private body(values: Record<string, unknown>, customer: CustomerRefs | undefined, status: SyncStatusUpdate | undefined): Record<string, unknown> {
    return {
      ...values,
      stage: values.stage ?? 'Prospecting',
      ...(customer ? { accountid: customer.account.id, contactid: customer.contacts[0]?.id ?? null } : {}),
      ...(status ? { syncstatus: status.ok ? '✔' : '✖', audit: status.auditLines.join('\n') } : {}),
    };
  }

  override async createForReferral(entity: CrmEntityName, referralId: string, values: Record<string, unknown>, customer: CustomerRefs | undefined, columns: unknown, status?: SyncStatusUpdate): Promise<CrmRecord & { existed?: boolean }> {
    return super.createForReferral(entity, referralId, this.body(values, customer, status), customer, columns, status);
  }

  async previewCreate(entity: CrmEntityName, referralId: string, values: Record<string, unknown>, customer: CustomerRefs | undefined, status?: SyncStatusUpdate): Promise<Record<string, unknown>> {
    this.previews.push({ entity, referralId, customer });
    return this.body(values, customer, status);
  }
}

function setup(crm: FakeCrm = new BodyBuildingCrm(), leads = false) {
  const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
  const referrals = new FakeReferrals();
  const connection: ConnectionSetup = { connector: crm, mappings: { opportunity: testMapping(), lead: testMapping({}, 'lead') }, policy: { leads, ownsReferralCrmId: true } };
  const preview = (referralId: string) => previewMapping({ connection, referrals, sync: store.sync, referralId });
  const sync = new PairSync({ store, referrals, connections: new Map([[crm.name, connection]]), merge: mergeRecord, logger: silentLogger() });
  return { store, referrals, crm, preview, sync };
}

const job = (referralId: string) => ({ key: 'k', connection: 'crm', referralId, crmEntity: null, crmId: null, cause: 'event' as const, microsoftSide: true, generation: 0, attempts: 0, lastError: null });

describe('previewMapping: what a create would write', () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('lists every column the create then writes (mapped, link, customer, status, defaults), and writes nothing', async () => {
    const w = setup();
    store = w.store;
    w.referrals.put({ id: 'ref-1', name: 'A deal with a long name that a table would once have cut off', details: { dealValue: 4_200, notes: 'x'.repeat(300) }, customerProfile: { name: 'Contoso', team: [{ email: 'sue@contoso.example' }] } });
    const preview = await w.preview('ref-1');
    expect(w.crm.calls).toEqual([]);
    expect(preview.create?.entity).toBe('opportunity');
    const columns = preview.create?.columns ?? {};
    expect(columns).toMatchObject({ name: 'A deal with a long name that a table would once have cut off', value: 4_200, notes: 'x'.repeat(300), referralid: 'ref-1', syncwithpc: true, stage: 'Prospecting', syncstatus: '✔' });
    // The customer is not looked up or created by a preview: stand-ins mark where its records go.
    expect(preview.create?.customerColumns.sort()).toEqual(['accountid', 'contactid']);
    expect(preview.create?.customer).toEqual({ name: 'Contoso', contacts: ['sue@contoso.example'] });

    await w.sync.handler(job('ref-1'));
    const created = [...(w.crm as BodyBuildingCrm).records.values()].find((r) => r.referralId === 'ref-1');
    expect(Object.keys(created?.record.values ?? {}).sort()).toEqual(Object.keys(columns).sort());
    const { accountid: _a, contactid: _c, audit: _audit, ...fixed } = columns;
    expect(created?.record.values).toMatchObject(fixed);
  });

  it("shows the referral's real Partner Center status and substatus", async () => {
    const w = setup();
    store = w.store;
    w.referrals.put({ id: 'ref-new', status: 'New', substatus: 'Pending', type: 'Independent' });
    const preview = await w.preview('ref-new');
    expect(preview.partnerCenterStatus).toEqual({ status: 'New', substatus: 'Pending' });
  });

  it('a referral the sync would put in no CRM record (closed) previews no create, with the reason', async () => {
    const w = setup();
    store = w.store;
    w.referrals.put({ id: 'ref-closed', status: 'Closed', substatus: 'Lost' });
    const preview = await w.preview('ref-closed');
    expect(preview.create).toMatchObject({ entity: null, columns: {} });
    expect(preview.create?.reason).toMatch(/would not create/);
    expect((w.crm as BodyBuildingCrm).previews).toEqual([]);
  });

  it('an unaccepted incoming referral previews the lead the create would make when leads are on', async () => {
    const w = setup(new BodyBuildingCrm(), true);
    store = w.store;
    w.referrals.put({ id: 'ref-lead', status: 'New', substatus: 'Pending', type: 'Independent' });
    const preview = await w.preview('ref-lead');
    expect(preview.create?.entity).toBe('lead');
    expect((w.crm as BodyBuildingCrm).previews.map((p) => p.entity)).toEqual(['lead']);
  });

  it('a linked referral previews no create', async () => {
    const w = setup();
    store = w.store;
    w.referrals.put({ id: 'ref-2', name: 'Linked' });
    await w.sync.handler(job('ref-2'));
    const preview = await w.preview('ref-2');
    expect(preview.linked).toBe(true);
    expect(preview.create).toBeNull();
  });

  it('a connector that cannot show its create is an error, not a shorter list', async () => {
    const w = setup(new FakeCrm());
    store = w.store;
    w.referrals.put({ id: 'ref-3' });
    await expect(w.preview('ref-3')).rejects.toBeInstanceOf(MappingPreviewError);
  });
});
