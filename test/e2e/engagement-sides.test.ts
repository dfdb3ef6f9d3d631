import { describe, expect, it } from 'vitest';
import { json, sendJson, type Row } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * Whose referral a related-referral event names is not settled by the docs, so the Partner Center sandbox sends both
 * variants: here the ResourceUri names the referral that changed (Microsoft's, or another partner's in a
 * partner-to-partner engagement). Such a referral is never linked nor written: the partner's own referral of the
 * engagement is synced instead, and "Microsoft's side" is Microsoft's referral, never another partner's.
 */

const OTHER_PARTNER = { organizationId: '0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f', organizationName: 'Fabrikam Partners' };

describe('referrals of other organizations in an engagement', () => {
  const h = suiteHarness(() => SyncHarness.start({ pcStrictCoSell: true, sync: NOTIFICATIONS_ONLY }), {
    afterStart: async () => {
      await json(`${h.pc.url}/_sandbox/webhooks/shape`, sendJson('PUT', { relatedResourceUri: 'changed' }));
    },
  });

  const inEngagement = async (partnerReferralId: string): Promise<Row[]> => {
    const all = await h.referrals();
    const engagementId = all.find((r) => r.id === partnerReferralId)?.engagementId;
    return all.filter((r) => r.engagementId === engagementId && r.id !== partnerReferralId);
  };

  it("maps an event naming Microsoft's referral to the partner's referral, and writes nothing to Microsoft's", async () => {
    const partner = await h.incomingReferral({ name: 'Microsoft URI deal', customerProfile: { name: 'Uri Customer', address: { postalCode: '61000' } } });
    await h.waitForWebhooks();
    await h.waitForIdle();
    const [microsoft] = await inEngagement(partner.id);
    expect(microsoft?.organizationId).toBe('msft');
    const before = await h.referral(String(microsoft?.id));
    const deliveries = (await h.pcDeliveries()).value.map((d) => d.body);
    expect(deliveries.some((body) => body.includes('related-referral-created') && body.includes(String(microsoft?.id)))).toBe(true);

    expect(await h.opportunitiesFor(partner.id)).toHaveLength(1);
    expect(await h.opportunitiesFor(String(microsoft?.id))).toEqual([]);
    expect(await h.deadLetters()).toEqual([]);

    // Microsoft's seller wins its side: the event names Microsoft's referral; the partner's pair shows it.
    await h.pcSellerEdit(String(microsoft?.id), { status: 'Closed', substatus: 'Won' });
    await h.waitForWebhooks();
    await h.waitForIdle();
    const opportunity = await h.opportunityFor(partner.id);
    expect(opportunity?.cosell_microsoftstatus).toBe('Won');
    const after = await h.referral(String(microsoft?.id));
    expect(after?.externalReferenceId ?? null).toBe(before?.externalReferenceId ?? null);
    expect(await h.opportunitiesFor(String(microsoft?.id))).toEqual([]);
    expect(await h.deadLetters()).toEqual([]);
  });

  it("never treats another partner's referral as the deal or as Microsoft's side (partner-to-partner)", async () => {
    const partner = await h.incomingReferral({
      name: 'Partner to partner deal',
      microsoftSide: false,
      otherPartner: OTHER_PARTNER,
      customerProfile: { name: 'P2P Customer', address: { postalCode: '61001' } },
    });
    await h.waitForWebhooks();
    await h.waitForIdle();
    const [other] = await inEngagement(partner.id);
    expect(other?.organizationId).toBe(OTHER_PARTNER.organizationId);

    await h.pcSellerEdit(String(other?.id), { details: { notes: 'The other partner changed its own notes' } });
    await h.waitForWebhooks();
    await h.waitForIdle();

    expect(await h.opportunitiesFor(partner.id)).toHaveLength(1);
    expect(await h.opportunitiesFor(String(other?.id))).toEqual([]);
    const opportunity = await h.opportunityFor(partner.id);
    // Microsoft is not in this engagement: Microsoft's status stays empty rather than showing the other partner's.
    expect(opportunity?.cosell_microsoftstatus ?? null).toBeNull();
    expect((await h.referral(String(other?.id)))?.externalReferenceId ?? null).toBeNull();
    expect(await h.deadLetters()).toEqual([]);
    const calls = await h.apiCallsByStatus();
    expect(Object.keys(calls).filter((key) => key.startsWith('partner-center') && key.endsWith(' 403'))).toEqual([]);
  });
});
