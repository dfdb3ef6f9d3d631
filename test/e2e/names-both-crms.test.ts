import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DualCrmHarness } from '../support/dual-crm-harness.ts';
import { detailsOf, waitFor } from '../support/service-harness.ts';

/*
 * Deal names as the sellers typed them, with Dynamics and Salesforce connected at once. The ✔/✖ after a CRM record's
 * name is ours: only that one mark is ever removed, so a name ending in ✔, ✖ or ✔️ of its own keeps it everywhere.
 * A name longer than Salesforce's Opportunity.Name (120) is cut there to fit next to the mark, and that cut is the
 * CRM's limit, not a rename: it never flows back over Partner Center, nor from there over Dynamics.
 */

describe('names survive both CRMs', () => {
  let h: DualCrmHarness;

  beforeAll(async () => {
    h = await DualCrmHarness.start();
  }, 90_000);
  afterAll(async () => {
    await h?.close();
  });

  async function sharedDeal(name: string, company: string): Promise<{ referralId: string; dvId: string; sfId: string }> {
    const { opportunityId } = await h.dvCreateDeal({ name, company, value: 40_000 });
    const [referral] = await waitFor('the referral created from Dynamics', async () => {
      const found = await h.referralsForCrmId(opportunityId);
      return found.length > 0 ? found : undefined;
    });
    const referralId = String(referral?.id);
    const sf = await waitFor('the Salesforce opportunity of the referral', async () => (await h.sfOpportunities()).find((o) => o.Referral_Identifier__c === referralId));
    await h.waitForIdle();
    return { referralId, dvId: opportunityId, sfId: String(sf.Id) };
  }

  it('keeps a mark that is part of the name, in Partner Center and both CRMs', async () => {
    for (const [name, company] of [['Launch ✔', 'Checkmark Corp'], ['Rollout ✔️', 'Emoji Corp'], ['Phase two ✖', 'Cross Corp']] as const) {
      const { referralId, dvId, sfId } = await sharedDeal(name, company);
      const sf = (await h.sfOpportunities()).find((o) => o.Id === sfId);
      await h.sfSellerEdit('Opportunity', sfId, { Amount: 41_000 });
      await waitFor('the Salesforce amount in Partner Center', async () => detailsOf(await h.referral(referralId)).dealValue === 41_000);
      await h.waitForIdle();
      expect((await h.referral(referralId))?.name).toBe(name);
      expect(String(sf?.Name)).toBe(`${name} ✔`);
      expect((await h.dvOpportunities()).find((o) => o.opportunityid === dvId)?.name).toBe(`${name} ✔`);
      expect((await h.audit({ referralId })).filter((e) => e.field === 'name')).toEqual([]);
    }
  });

  it('never sends back the cut Salesforce made of a long name', async () => {
    const long = `Enterprise-wide data platform modernization and migration program for all regional subsidiaries, phase one of three (EMEA)`;
    expect(long.length).toBeGreaterThan(120);
    const { referralId, dvId, sfId } = await sharedDeal(long, 'Longname Holdings');
    const sf = (await h.sfOpportunities()).find((o) => o.Id === sfId);
    expect(String(sf?.Name)).toBe(`${long.slice(0, 118)} ✔`);

    // Any later sync of the Salesforce pair (here an amount edit) must leave the name alone on every side.
    await h.sfSellerEdit('Opportunity', sfId, { Amount: 52_000 });
    await waitFor('the Salesforce amount in Partner Center', async () => detailsOf(await h.referral(referralId)).dealValue === 52_000);
    await h.reconcile();
    await h.waitForIdle();
    expect((await h.referral(referralId))?.name).toBe(long);
    expect((await h.dvOpportunities()).find((o) => o.opportunityid === dvId)?.name).toBe(`${long} ✔`);
    expect((await h.audit({ referralId })).filter((e) => e.field === 'name' && e.direction === 'to-pc')).toEqual([]);
  });
});
