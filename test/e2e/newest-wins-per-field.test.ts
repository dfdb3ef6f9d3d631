import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailsOf, sleep } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';

/*
 * newest-wins decides per field, not per record: notes edited in Dynamics, then newer notes in Partner Center, then
 * the deal value in Dynamics. The Dynamics record's time is the deal value's; the notes must be dated by the edit that
 * changed them (the Dataverse notification's Target columns), so Partner Center's newer notes win while the deal value
 * flows from Dynamics.
 */

describe('newest-wins per field', () => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await SyncHarness.start({ runEngine: false });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('older Dynamics notes lose to newer Partner Center notes though the Dynamics record changed last', async () => {
    const { referralId, opportunityId } = await h.linkedPair({ name: 'Per field deal', status: 'Active', customerProfile: { name: 'Field Corp', address: { postalCode: '61000' } } });

    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Dynamics notes, oldest' });
    await sleep(1_100);
    await h.pcSellerEdit(referralId, { details: { notes: 'Partner Center notes, newer' } });
    await sleep(1_100);
    await h.dvSellerEdit('opportunities', opportunityId, { estimatedvalue: 64_000 });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();

    const details = detailsOf(await h.referral(referralId));
    expect(details.notes).toBe('Partner Center notes, newer');
    expect(details.dealValue).toBe(64_000);
    const opportunity = await h.opportunity(opportunityId);
    expect(opportunity?.description).toBe('Partner Center notes, newer');
    expect(opportunity?.estimatedvalue).toBe(64_000);
  });
});
