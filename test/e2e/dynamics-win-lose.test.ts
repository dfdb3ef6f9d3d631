import { describe, expect, it } from 'vitest';
import { json, sendJson, waitFor } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * A Dynamics seller wins or loses an opportunity. Dataverse's Win / Lose notifications carry `OpportunityClose` and
 * `Status`, not `Target`; here the sandbox also sends the empty GUID as PrimaryEntityId. The notification alone (no
 * reconcile pass: the interval is an hour) must bring the outcome to Partner Center, and nothing may be filed under
 * the empty GUID.
 */

/*
 * With the reason, both ways: a seller's Lose with a status reason gives Partner Center Closed/Lost with the mapped
 * `statusReason`, and a referral Partner Center closes as lost with a reason is lost in Dynamics (LoseOpportunity) with
 * the mapped status reason (the mapping file's `lossReason`).
 */

describe('Won / Lost in Dynamics reach Partner Center through the Win / Lose notification', () => {
  const h = suiteHarness(() => SyncHarness.start({ sync: NOTIFICATIONS_ONLY }), {
    afterStart: async () => {
      await json(`${h.dv.url}/_sandbox/webhooks/shape`, sendJson('PUT', { closePrimaryEntityId: 'empty' }));
    },
  });

  async function dealInPartnerCenter(name: string): Promise<{ opportunityId: string; referralId: string }> {
    const { opportunityId } = await h.dvCreateDeal({ name, company: `${name} Corp`, value: 30_000, sync: true });
    const [referral] = await waitFor('the referral', async () => {
      const found = await h.referralsForCrmId(opportunityId);
      return found.length > 0 ? found : undefined;
    });
    await h.waitForIdle();
    return { opportunityId, referralId: String(referral?.id) };
  }

  it.each([
    ['won', { statecode: 1, statuscode: 3 }, 'Won'],
    ['lost', { statecode: 2, statuscode: 4 }, 'Lost'],
  ] as const)('a deal %s in Dynamics is closed in Partner Center', async (label, close, substatus) => {
    const { opportunityId, referralId } = await dealInPartnerCenter(`Closing ${label}`);
    await h.dvSellerEdit('opportunities', opportunityId, close);
    await h.waitForWebhooks();
    await h.waitForIdle();

    const delivered = (await h.dvDeliveries()).value.filter((d) => d.label === `${substatus === 'Won' ? 'Win' : 'Lose'} opportunity`);
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.every((d) => !d.body.includes('"Target"') && d.body.includes('"OpportunityClose"'))).toBe(true);
    expect(delivered.every((d) => d.body.includes('"PrimaryEntityId":"00000000-0000-0000-0000-000000000000"'))).toBe(true);

    const referral = await h.referral(referralId);
    expect({ status: referral?.status, substatus: referral?.substatus }).toEqual({ status: 'Closed', substatus });
    const events = await h.api<{ events: Array<{ resourceId: string | null; eventName: string }> }>('/api/events?limit=200');
    expect(events.events.filter((e) => e.resourceId === '00000000-0000-0000-0000-000000000000')).toEqual([]);
  });

  it('a seller who loses the deal as Out-Sold gives Partner Center Closed/Lost with the mapped reason', async () => {
    const { opportunityId, referralId } = await dealInPartnerCenter('Lost to a rival');
    await h.dvSellerEdit('opportunities', opportunityId, { statecode: 2, statuscode: 5 });
    await h.waitForWebhooks();
    await h.waitForIdle();
    const referral = await h.referral(referralId);
    expect({ status: referral?.status, substatus: referral?.substatus, statusReason: referral?.statusReason }).toEqual({
      status: 'Closed',
      substatus: 'Lost',
      statusReason: 'Lost to a competitor',
    });
  });

  it('a referral Partner Center closes as lost with a reason is lost in Dynamics with the mapped status reason', async () => {
    const { referralId, opportunityId } = await h.acceptedPair({ name: 'Closed lost in Partner Center', customerProfile: { name: 'Lost Reason Corp', address: { postalCode: '30301' } } });
    await h.pcPartnerClose(referralId, 'Lost', 'Lost to a competitor');
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const opportunity = await waitFor('the lost opportunity', async () => {
      const row = await h.opportunity(opportunityId);
      return row?.statecode === 2 ? row : undefined;
    });
    expect({ statecode: opportunity.statecode, statuscode: opportunity.statuscode }).toEqual({ statecode: 2, statuscode: 5 });
    await h.waitForIdle();
    const referral = await h.referral(referralId);
    expect({ substatus: referral?.substatus, statusReason: referral?.statusReason }).toEqual({ substatus: 'Lost', statusReason: 'Lost to a competitor' });
    expect(await h.deadLetters()).toEqual([]);
  });
});
