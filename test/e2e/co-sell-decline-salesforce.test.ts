import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * A Salesforce seller declines an incoming co-sell referral by choosing a Decline Reason on its opportunity: Partner
 * Center (its sandbox with the strict co-sell rules) gets Closed/Declined with that reason, never Lost.
 */

describe('declining a co-sell referral from Salesforce', () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ pcStrictCoSell: true, sync: NOTIFICATIONS_ONLY }));

  it('a Decline Reason on the opportunity sends Closed/Declined with it', async () => {
    const referral = await h.incomingReferral({ name: 'Salesforce co-sell to decline', customerProfile: { name: 'Sf Decline Customer', address: { postalCode: '61020' } } });
    const opportunity = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    await h.waitForIdle();
    expect(await h.referral(referral.id)).toMatchObject({ status: 'New' });
    await h.sfSellerEdit('Opportunity', String(opportunity.Id), { Decline_Reason__c: 'No capacity to engage' });
    const declined = await waitFor('the declined referral', async () => {
      const r = await h.referral(referral.id);
      return r?.status === 'Closed' ? r : undefined;
    });
    expect(declined).toMatchObject({ status: 'Closed', substatus: 'Declined', statusReason: 'No capacity to engage' });
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });
});
