import { afterEach, describe, expect, it } from 'vitest';
import { MicrosoftConnectionError } from '../../../src/partner-center/referrals-client.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import type { Job } from '../../../src/store/types.ts';
import { mergeRecord } from '../../../src/sync/merge/index.ts';
import { PairSync } from '../../../src/sync/pair-sync.ts';
import { wantsMicrosoftConnected } from '../../../src/sync/run/co-sell.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { coSellTestMapping, FakeCrm, FakeReferrals, referral } from './sync-fakes.ts';

/*
 * CRM → Partner Center following the seller's choices, over in-memory fakes: co-sell (Shared + help + solutions + the
 * connected Microsoft referral), a co-sell deal without a solution (not sent, ✖ and an Audit line), a private deal.
 */

const customer = { name: 'Contoso', country: 'US', contacts: [{ firstName: 'Sue', lastName: 'Smith', email: 'sue@contoso.com' }] };

function world() {
  const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
  const referrals = new FakeReferrals();
  const crm = new FakeCrm().withSolutions(['SOL-34104-EBB', 'SOL-20816-QWE']);
  const connections = new Map([[crm.name, { connector: crm, mappings: { opportunity: coSellTestMapping() }, policy: { leads: false, ownsReferralCrmId: true } }]]);
  const sync = new PairSync({ store, referrals, connections, merge: mergeRecord, logger: silentLogger() });
  return { store, referrals, crm, sync };
}

function crmJob(crmId: string): Job {
  return { key: `k-${crmId}`, connection: 'crm', referralId: null, crmEntity: 'opportunity', crmId, cause: 'event', microsoftSide: false, generation: 0, attempts: 0, lastError: null };
}

/** A co-sell deal with one solution, sent and linked; `reread` is the reconciler's periodic re-read of the pair. */
async function sentCoSellDeal(name: string) {
  const w = world();
  const ref = w.crm.add({ name, value: 10, syncwithpc: true, help: 'ProofOfConceptOrDemo' }, customer);
  w.crm.dealSolutions.set(ref.id, ['SOL-34104-EBB']);
  await w.sync.handler(crmJob(ref.id));
  const partnerId = String(w.crm.get(ref.id).record.values.referralid);
  const ids = () => (w.referrals.must(partnerId).referral.details?.requirements?.solutions ?? []).map((s) => s.id);
  const reread: Job = { ...crmJob(ref.id), crmEntity: null, crmId: null, referralId: partnerId, microsoftSide: true, cause: 'reconcile' };
  return { w, ref, ids, reread };
}

describe('co-sell deals born in the CRM', () => {
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('a co-sell deal with a solution becomes a Shared referral naming it, with Microsoft connected in its engagement', async () => {
    const w = world();
    store = w.store;
    const ref = w.crm.add({ name: 'Co-sell deal', value: 10, syncwithpc: true, help: 'ProofOfConceptOrDemo' }, customer);
    w.crm.dealSolutions.set(ref.id, ['SOL-34104-EBB']);
    await w.sync.handler(crmJob(ref.id));
    expect(w.referrals.created[0]).toMatchObject({
      type: 'Shared',
      inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo' },
      consent: { consentToShareReferralWithMicrosoftSellers: true },
      details: { requirements: { solutions: [{ type: 'Name', id: 'SOL-34104-EBB' }] } },
    });
    const partnerId = String(w.crm.get(ref.id).record.values.referralid);
    const engagement = w.referrals.engagement(String(w.referrals.must(partnerId).referral.engagementId));
    expect(engagement.map((r) => r.organizationId).sort()).toEqual(['msft', 'partner-org']);
    expect((await w.store.sync.findLinkByCrm('crm', 'opportunity', ref.id))?.referralId).toBe(partnerId);
  });

  it('a co-sell deal without a solution is not sent: ✖ and an Audit line naming the Microsoft Solutions to add', async () => {
    const w = world();
    store = w.store;
    const ref = w.crm.add({ name: 'No solution', syncwithpc: true, help: 'QuotesOrLicensing' }, customer);
    await w.sync.handler(crmJob(ref.id));
    expect(w.referrals.created).toEqual([]);
    expect(w.referrals.referrals.size).toBe(0);
    expect(w.crm.get(ref.id).status?.ok).toBe(false);
    expect(w.crm.get(ref.id).status?.auditLines).toEqual([expect.stringContaining('not sent to Partner Center: Microsoft Solutions: add at least one Microsoft solution')]);
    expect((await w.store.sync.audit({ crmId: ref.id, limit: 10 })).map((a) => a.outcome)).toEqual(['failed']);
  });

  it('a private deal is Independent without consent, and no Microsoft referral is made', async () => {
    const w = world();
    store = w.store;
    const ref = w.crm.add({ name: 'Private deal', syncwithpc: true, help: null, visible: false }, customer);
    await w.sync.handler(crmJob(ref.id));
    expect(w.referrals.created[0]).toMatchObject({ type: 'Independent', consent: { consentToShareReferralWithMicrosoftSellers: false } });
    expect(w.referrals.connects).toEqual([]);
  });

  it('a failed second call is retried by connecting Microsoft to the referral already made, never creating a second deal', async () => {
    const w = world();
    store = w.store;
    const ref = w.crm.add({ name: 'Flaky co-sell', syncwithpc: true, help: 'GeneralOrOther' }, customer);
    w.crm.dealSolutions.set(ref.id, ['SOL-34104-EBB']);
    w.referrals.failConnects = 1;
    await expect(w.sync.handler(crmJob(ref.id))).rejects.toBeInstanceOf(MicrosoftConnectionError);
    expect(w.referrals.referrals.size).toBe(1);
    // The worker's retry of the same job.
    await w.sync.handler(crmJob(ref.id));
    expect(w.referrals.created).toHaveLength(1);
    const partnerId = String(w.crm.get(ref.id).record.values.referralid);
    expect(w.referrals.connects).toEqual([partnerId]);
    const engagement = w.referrals.engagement(String(w.referrals.must(partnerId).referral.engagementId));
    expect(engagement).toHaveLength(2);
  });

  it('visibility to Microsoft sellers is never revoked: the seller’s "not visible" goes back to visible with an Audit line', async () => {
    const w = world();
    store = w.store;
    const ref = w.crm.add({ name: 'Visible deal', syncwithpc: true, help: 'GeneralOrOther', visible: false }, customer);
    w.crm.dealSolutions.set(ref.id, ['SOL-34104-EBB']);
    await w.sync.handler(crmJob(ref.id));
    const partnerId = String(w.crm.get(ref.id).record.values.referralid);
    expect(w.crm.get(ref.id).record.values.visible).toBe(true);
    w.crm.edit(ref.id, { visible: false });
    await w.sync.handler(crmJob(ref.id));
    expect(w.referrals.must(partnerId).referral.consent?.consentToShareReferralWithMicrosoftSellers).toBe(true);
    expect(w.referrals.patches.flatMap((p) => p.changes.map((c) => String(c.path)))).not.toContain('consent,consentToShareReferralWithMicrosoftSellers');
    expect(w.crm.get(ref.id).record.values.visible).toBe(true);
    const refused = (await w.store.sync.audit({ crmId: ref.id, limit: 50 })).filter((a) => a.field === 'referralVisibility' && a.outcome === 'skipped');
    expect(refused).toHaveLength(2);
    expect(refused[0]?.message).toContain('does not allow making it private again');
  });

  it('connects Microsoft only to the partner’s own co-sell referrals that ask for help and target no other partner', () => {
    const coSell = { type: 'Shared', direction: 'Outgoing', inviteContext: { assistanceRequestCode: 'GeneralOrOther' } };
    expect(wantsMicrosoftConnected(referral(coSell))).toBe(true);
    expect(wantsMicrosoftConnected(referral({ ...coSell, inviteContext: { assistanceRequestCode: 'Unknown' } }))).toBe(false);
    expect(wantsMicrosoftConnected(referral({ ...coSell, direction: 'Incoming' }))).toBe(false);
    expect(wantsMicrosoftConnected(referral({ ...coSell, target: [{ type: 'BusinessProfileLocation', id: 'other-partner' }] }))).toBe(false);
    expect(wantsMicrosoftConnected(referral({ ...coSell, organizationId: 'msft' }))).toBe(false);
  });
  it("a co-sell deal's solutions changed alone (no record change) reach the referral on the reconciler's co-sell re-read", async () => {
    const { w, ref, ids, reread } = await sentCoSellDeal('Solutions later');
    store = w.store;
    w.crm.dealSolutions.set(ref.id, ['SOL-34104-EBB', 'SOL-20816-QWE']);
    // A related-referral event about Microsoft's side: neither record changed, so the pair is settled.
    await w.sync.handler({ ...reread, cause: 'event' });
    expect(ids()).toEqual(['SOL-34104-EBB']);
    await w.sync.handler(reread);
    expect(ids()).toEqual(['SOL-20816-QWE', 'SOL-34104-EBB']);
  });

  it('removing every solution from a co-sell deal is held: the referral keeps them, the record gets ✖ and one Audit line', async () => {
    const { w, ref, ids, reread } = await sentCoSellDeal('Solutions removed');
    store = w.store;
    w.crm.dealSolutions.set(ref.id, []);
    await w.sync.handler(reread);
    await w.sync.handler(reread);
    expect(ids()).toEqual(['SOL-34104-EBB']);
    expect(w.crm.get(ref.id).status?.ok).toBe(false);
    const held = (await w.store.sync.audit({ crmId: ref.id, limit: 50 })).filter((e) => e.message?.includes('add at least one Microsoft solution'));
    expect(held).toHaveLength(1);
    // A solution chosen again releases the hold: ✔ back, and the referral follows the deal.
    w.crm.dealSolutions.set(ref.id, ['SOL-20816-QWE']);
    await w.sync.handler(reread);
    expect(ids()).toEqual(['SOL-20816-QWE']);
    expect(w.crm.get(ref.id).status?.ok).toBe(true);
  });
});
