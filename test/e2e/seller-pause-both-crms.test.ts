import { describe, expect, it } from 'vitest';
import { SYNC_STATUS_OPTIONS } from '../../src/crm/dynamics/custom-columns.ts';
import { SYNC_STATUS_VALUES } from '../../src/crm/salesforce/custom-fields.ts';
import { waitFor } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * A seller's "Sync with Partner Center" = No on a linked deal pauses the pair in both directions, on each CRM through
 * its own API: edits on either side stay where they were made, the record shows Sync Status "Paused" and the Audit line
 * says who and where, the console lists the pair as paused. Setting it back to Yes merges both sides' edits.
 */

interface DealView {
  deal: { state: string; paused: boolean };
}

describe('Sync with Partner Center = No / Yes on a linked Dynamics opportunity', () => {
  const h = suiteHarness(() => SyncHarness.start({ sync: NOTIFICATIONS_ONLY }));

  it('No stops both directions (Paused, audited once); Yes merges both sides', async () => {
    const { referralId, opportunityId } = await h.acceptedPair({ name: 'Fabrikam rollout', customerProfile: { name: 'Fabrikam Inc', address: { postalCode: '61000' } } });
    await h.dvSellerEdit('opportunities', opportunityId, { cosell_syncwithpartnercenter: false });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    expect((await h.opportunity(opportunityId))?.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.paused);
    expect(await h.api<DealView>(`/api/deals/dynamics/${referralId}`)).toMatchObject({ deal: { state: 'paused', paused: true } });

    await h.pcSellerEdit(referralId, { details: { dealValue: 70_000 } });
    await h.dvSellerEdit('opportunities', opportunityId, { name: 'Fabrikam rollout, phase 2' });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    expect((await h.opportunity(opportunityId))?.estimatedvalue).not.toBe(70_000);
    expect((await h.referral(referralId))?.name).toBe('Fabrikam rollout');

    await h.dvSellerEdit('opportunities', opportunityId, { cosell_syncwithpartnercenter: true });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    expect((await h.opportunity(opportunityId))?.estimatedvalue).toBe(70_000);
    expect((await h.referral(referralId))?.name).toBe('Fabrikam rollout, phase 2');
    expect((await h.opportunity(opportunityId))?.cosell_syncstatus).toBe(SYNC_STATUS_OPTIONS.synced);
    expect(await h.api<DealView>(`/api/deals/dynamics/${referralId}`)).toMatchObject({ deal: { paused: false } });
    const trail = (await h.audit({ referralId, limit: 200 })).map((e) => e.message ?? '');
    expect(trail.filter((m) => m.includes('Sync with Partner Center set to No in Dynamics'))).toHaveLength(1);
    expect(trail.filter((m) => m.includes('Sync with Partner Center set to Yes in Dynamics'))).toHaveLength(1);
  });
});

describe('Sync with Partner Center unchecked / checked on a linked Salesforce opportunity', () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ sync: NOTIFICATIONS_ONLY }));

  it('unchecked stops both directions (Paused, audited once); checked merges both sides', async () => {
    const referral = await h.incomingReferral({ name: 'Northwind renewal', customerProfile: { name: 'Northwind Corp', address: { postalCode: '61020' } } });
    const created = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    const opportunityId = String(created.Id);
    await h.waitForIdle();
    await h.pcPartnerAccept(referral.id);
    await waitFor('the accepted opportunity', async () => ((await h.opportunity(opportunityId))?.StageName !== 'Prospecting' ? true : undefined));
    await h.waitForIdle();

    await h.sfSellerEdit('Opportunity', opportunityId, { Sync_with_Partner_Center__c: false });
    await waitFor('Sync Status Paused', async () => ((await h.opportunity(opportunityId))?.Sync_Status__c === SYNC_STATUS_VALUES.paused ? true : undefined));
    await h.waitForIdle();
    expect(await h.api<DealView>(`/api/deals/salesforce/${referral.id}`)).toMatchObject({ deal: { state: 'paused', paused: true } });

    await h.pcSellerEdit(referral.id, { details: { dealValue: 80_000 } });
    await h.sfSellerEdit('Opportunity', opportunityId, { Name: 'Northwind renewal, 3 years' });
    await h.waitForIdle();
    expect((await h.opportunity(opportunityId))?.Amount).not.toBe(80_000);
    expect((await h.referral(referral.id))?.name).toBe('Northwind renewal');

    await h.sfSellerEdit('Opportunity', opportunityId, { Sync_with_Partner_Center__c: true });
    await waitFor('both edits merged', async () =>
      (await h.opportunity(opportunityId))?.Amount === 80_000 && (await h.referral(referral.id))?.name === 'Northwind renewal, 3 years' ? true : undefined,
    );
    await h.waitForIdle();
    expect((await h.opportunity(opportunityId))?.Sync_Status__c).toBe(SYNC_STATUS_VALUES.synced);
    const trail = (await h.audit({ referralId: referral.id, limit: 200 })).map((e) => e.message ?? '');
    expect(trail.filter((m) => m.includes('Sync with Partner Center set to No in Salesforce'))).toHaveLength(1);
    expect(trail.filter((m) => m.includes('Sync with Partner Center set to Yes in Salesforce'))).toHaveLength(1);
  });
});
