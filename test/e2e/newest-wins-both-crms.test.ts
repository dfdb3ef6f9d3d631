import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DualCrmHarness } from '../support/dual-crm-harness.ts';
import { sleep, waitFor } from '../support/service-harness.ts';

/*
 * newest-wins between two CRMs: a Dynamics seller renames a deal, a Salesforce seller renames it a moment later, and
 * the service only then gets to work. Our write of the Dynamics name to Partner Center refreshes the referral's
 * updatedDateTime, but it is not an edit: the later Salesforce name must win everywhere, and the decision is audited.
 */

describe('newest-wins never counts our own write to Partner Center as an edit', () => {
  let h: DualCrmHarness;

  beforeAll(async () => {
    h = await DualCrmHarness.start({ runEngine: false });
  }, 90_000);
  afterAll(async () => {
    await h?.close();
  });

  it('the later Salesforce rename beats the earlier Dynamics rename that reached Partner Center first', async () => {
    const { opportunityId: dvId } = await h.dvCreateDeal({ name: 'Renamed twice', company: 'Twice Corp', value: 33_000 });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const [referral] = await h.referralsForCrmId(dvId);
    const referralId = String(referral?.id);
    const sf = await waitFor('the Salesforce opportunity', async () => {
      await h.runWorkerUntilIdle();
      return (await h.sfOpportunities()).find((o) => o.Referral_Identifier__c === referralId);
    });

    await h.dvSellerEdit('opportunities', dvId, { name: 'Dynamics name' });
    await h.waitForWebhooks();
    // Over a second later, so that even whole-second timestamps order the two edits.
    await sleep(1_200);
    await h.sfSellerEdit('Opportunity', String(sf.Id), { Name: 'Salesforce name' });
    await h.runWorkerUntilIdle();
    await h.reconcile();
    await h.runWorkerUntilIdle();

    expect((await h.referral(referralId))?.name).toBe('Salesforce name');
    expect((await h.dvOpportunities()).find((o) => o.opportunityid === dvId)?.name).toBe('Salesforce name ✔');
    expect(String((await h.sfOpportunities()).find((o) => o.Id === sf.Id)?.Name)).toMatch(/^Salesforce name( ✔)?$/);
    const decided = (await h.audit({ referralId })).filter((e) => e.field === 'name' && e.outcome === 'conflict');
    expect(decided.length).toBeGreaterThan(0);
  }, 120_000);
});
