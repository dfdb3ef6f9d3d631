import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailsOf, sleep, waitFor } from '../support/service-harness.ts';
import { OPPORTUNITY_CDC_WATERMARK, SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';

/*
 * newest-wins per field with Salesforce: notes edited in Salesforce, then newer notes in Partner Center, then the
 * deal value in Salesforce, all before the worker gets to the pair. The opportunity's LastModifiedDate is the deal
 * value's; the notes must be dated by the change event that changed them (CDC `changedFields` + `commitTimestamp`), so
 * Partner Center's newer notes win while the deal value flows from Salesforce.
 */

describe('newest-wins per field (Salesforce CDC)', () => {
  let h: SalesforceSyncHarness;

  beforeAll(async () => {
    h = await SalesforceSyncHarness.start();
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  /** Until the service has committed every change event the sandbox published (the CDC stream keeps running). */
  const waitForChangeEvents = async (): Promise<void> => {
    const { latestReplayId } = await h.cdcEvents();
    await waitFor('every change event recorded', async () => Number(await h.storedWatermark(OPPORTUNITY_CDC_WATERMARK)) >= latestReplayId);
  };

  it('older Salesforce notes lose to newer Partner Center notes though the opportunity changed last', async () => {
    const referral = await h.incomingReferral({ name: 'Per field SF deal', customerProfile: { name: 'Field SF Corp', address: { postalCode: '61000' } } });
    await h.waitForIdle();
    await h.pcPartnerAccept(referral.id);
    await h.waitForIdle();
    const opportunity = await waitFor('the Salesforce opportunity', () => h.opportunityFor(referral.id));
    const id = String(opportunity.Id);

    // The change stream keeps recording; only the worker waits, so the three edits meet in one sync.
    await h.engine.worker.stop();
    await h.sfSellerEdit('Opportunity', id, { Description: 'Salesforce notes, oldest' });
    await waitForChangeEvents();
    await sleep(1_100);
    await h.pcSellerEdit(referral.id, { details: { notes: 'Partner Center notes, newer' } });
    await h.waitForWebhooks();
    await sleep(1_100);
    await h.sfSellerEdit('Opportunity', id, { Amount: 64_000 });
    await waitForChangeEvents();
    await h.runWorkerUntilIdle();

    const details = detailsOf(await h.referral(referral.id));
    expect(details.notes).toBe('Partner Center notes, newer');
    expect(details.dealValue).toBe(64_000);
    const after = await h.opportunity(id);
    expect(after?.Description).toBe('Partner Center notes, newer');
    expect(after?.Amount).toBe(64_000);
  }, 90_000);
});
