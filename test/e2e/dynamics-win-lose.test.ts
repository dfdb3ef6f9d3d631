import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, sendJson, waitFor } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';

/*
 * A Dynamics seller wins or loses an opportunity. Dataverse's Win / Lose notifications carry `OpportunityClose` and
 * `Status`, not `Target`; here the sandbox also sends the empty GUID as PrimaryEntityId. The notification alone (no
 * reconcile pass: the interval is an hour) must bring the outcome to Partner Center, and nothing may be filed under
 * the empty GUID.
 */

describe('Won / Lost in Dynamics reach Partner Center through the Win / Lose notification', () => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await SyncHarness.start({ sync: { reconcileIntervalSeconds: 3600, reconcileOnStart: false } });
    await json(`${h.dv.url}/_sandbox/webhooks/shape`, sendJson('PUT', { closePrimaryEntityId: 'empty' }));
  }, 60_000);
  afterAll(async () => {
    await h?.close();
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
});
