import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * Won / Lost with the reason, both ways, on Salesforce (Partner Center sandbox with the strict co-sell rules): the
 * Closed Lost stage with a Loss Reason gives Partner Center Closed/Lost with the mapped `statusReason`, and a referral
 * Partner Center closes as lost with a reason gives the Closed Lost stage with the mapped Loss Reason.
 */

describe('Won / Lost with the reason between Salesforce and Partner Center', () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ pcStrictCoSell: true, sync: NOTIFICATIONS_ONLY }));

  /** An incoming referral with its opportunity, accepted by the partner in Partner Center and settled. */
  async function acceptedPair(name: string): Promise<{ referralId: string; opportunityId: string }> {
    const referral = await h.incomingReferral({ name, customerProfile: { name: `${name} Corp`, address: { postalCode: '61020' } } });
    const opportunity = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    await h.waitForIdle();
    await h.pcPartnerAccept(referral.id);
    await waitFor('the accepted opportunity', async () => {
      const row = await h.opportunity(String(opportunity.Id));
      return row?.StageName !== 'Prospecting' ? row : undefined;
    });
    await h.waitForIdle();
    return { referralId: referral.id, opportunityId: String(opportunity.Id) };
  }

  it('Closed Lost with a Loss Reason gives Partner Center Closed/Lost with the mapped reason', async () => {
    const { referralId, opportunityId } = await acceptedPair('Sf lost to a rival');
    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Closed Lost', Loss_Reason__c: 'No budget' });
    const closed = await waitFor('the lost referral', async () => {
      const r = await h.referral(referralId);
      return r?.status === 'Closed' ? r : undefined;
    });
    expect({ status: closed.status, substatus: closed.substatus, statusReason: closed.statusReason }).toEqual({ status: 'Closed', substatus: 'Lost', statusReason: 'No budget' });
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });

  /** An accepted pair whose referral the partner closes as lost in Partner Center with this reason; once the CRM follows. */
  async function closedLostInPartnerCenter(name: string, reason: string): Promise<{ referralId: string; lost: Record<string, unknown> }> {
    const { referralId, opportunityId } = await acceptedPair(name);
    await h.pcPartnerClose(referralId, 'Lost', reason);
    const lost = await waitFor('the lost opportunity', async () => {
      const row = await h.opportunity(opportunityId);
      return row?.StageName === 'Closed Lost' ? row : undefined;
    });
    await h.waitForIdle();
    return { referralId, lost };
  }

  it('a referral Partner Center closes as lost with a reason gets Closed Lost and the mapped Loss Reason', async () => {
    const { referralId, lost } = await closedLostInPartnerCenter('Sf closed lost in Partner Center', 'Lost to a competitor');
    expect(lost.Loss_Reason__c).toBe('Lost to a competitor');
    const referral = await h.referral(referralId);
    expect({ substatus: referral?.substatus, statusReason: referral?.statusReason }).toEqual({ substatus: 'Lost', statusReason: 'Lost to a competitor' });
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a reason Partner Center sends that the map does not know becomes the default Loss Reason', async () => {
    const { referralId, lost } = await closedLostInPartnerCenter('Sf unknown reason', 'Customer merged with another company');
    expect(lost.Loss_Reason__c).toBe('Other');
    expect((await h.referral(referralId))?.statusReason).toBe('Customer merged with another company');
  });
});
