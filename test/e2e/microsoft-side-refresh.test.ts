import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncHarness } from '../support/sync-harness.ts';
import { sleep } from '../support/service-harness.ts';

/*
 * Microsoft's changes to its own referral reach us only as related-referral-* webhooks; the partner's referral does
 * not move with them, so the normal reconcile pass cannot see one that was lost. The periodic refresh of Microsoft's
 * side of open co-sell pairs is what heals it. The refresh interval is cut to 7.2 s here so that a test can wait it
 * out, and the reconcile overlap to 0 so that the normal pass lists only what really changed.
 */

describe("refresh of Microsoft's side of open co-sell pairs", () => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await SyncHarness.start({ runEngine: false, pcStrictCoSell: true, sync: { reconcileOverlapSeconds: 0, microsoftSideRefreshHours: 0.002 } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('heals a lost related-referral webhook: Microsoft closing its referral reaches the opportunity', async () => {
    const subject = await h.incomingReferral({ name: 'Refresh deal', customerProfile: { name: 'Refresh Customer', address: { postalCode: '71000' } } });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    // A newer referral, so that the normal pass's watermark moves past the subject (it lists updatedDateTime ge …, and
    // queues what it lists to re-read Microsoft's side too). Synced only once the subject is: each sync writes back to
    // its referral, which moves its updatedDateTime, and two syncs running side by side finish in either order.
    await h.incomingReferral({ name: 'Later deal', customerProfile: { name: 'Later Customer', address: { postalCode: '71001' } } });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const subjectChangedAt = Date.parse(String((await h.referral(subject.id))?.updatedDateTime));
    // The first pass only starts the refresh clock.
    const first = await h.reconcile();
    expect(first.microsoftSideRefreshed).toBe(0);
    await h.runWorkerUntilIdle();
    const statusOf = async () => (await h.opportunityFor(subject.id))?.cosell_microsoftstatus;
    const before = await statusOf();

    // Microsoft closes its referral in the engagement; the related-referral webhook is lost.
    const engagementId = (await h.referral(subject.id))?.engagementId;
    const microsoftReferral = (await h.referrals()).find((r) => r.engagementId === engagementId && r.id !== subject.id);
    expect(microsoftReferral).toBeDefined();
    await h.pcFaults({ delivery: { dropRate: 1 } });
    await h.pcSellerEdit(String(microsoftReferral?.id), { status: 'Closed', substatus: 'Won' });
    await h.waitForWebhooks();
    await h.clearPcFaults();
    expect((await h.status()).queueDepth).toBe(0);

    // The normal pass alone does not heal it: the subject's own referral did not change.
    const second = await h.reconcile();
    expect(Date.parse(second.partnerCenterWatermark)).toBeGreaterThan(subjectChangedAt);
    expect(second.microsoftSideRefreshed).toBe(0);
    await h.runWorkerUntilIdle();
    expect(await statusOf()).toBe(before);

    // Once the refresh is due, the pair is re-read and Microsoft's status reaches the opportunity.
    await sleep(7_500);
    const third = await h.reconcile();
    expect(third.microsoftSideRefreshed).toBeGreaterThanOrEqual(1);
    await h.runWorkerUntilIdle();
    const after = await statusOf();
    expect(after).not.toBe(before);
    expect(after).not.toBeNull();
  }, 60_000);
});
