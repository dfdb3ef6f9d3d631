import { describe, expect, it } from 'vitest';
import { waitFor, type Row } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * A co-sell deal's Microsoft Solutions between Salesforce (the Opportunity's related list, a junction object) and the
 * referral's `details.requirements.solutions`, on Partner Center's sandbox with its strict co-sell rules: what
 * Microsoft's seller shared arrives on the deal once accepted, the partner's additions in Partner Center follow, and
 * the seller's additions and removals in Salesforce reach the referral.
 */

const FIRST = 'SOL-34104-EBB';
const SECOND = 'SOL-20816-QWE';
const THIRD = 'SOL-11873-MWP';

describe("a co-sell deal's Microsoft Solutions, Salesforce ↔ Partner Center", () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ pcStrictCoSell: true, sync: NOTIFICATIONS_ONLY }), {
    afterStart: async () => {
      await (await h.sfSolutions()).upsert([
        { solutionId: FIRST, name: 'Cloud Migration Factory', coSellReady: true },
        { solutionId: SECOND, name: 'Supply Chain Accelerator', coSellReady: true },
        { solutionId: THIRD, name: 'Modern Workplace in a Box', coSellReady: true },
      ]);
    },
  });

  const referralSolutions = async (id: string): Promise<string[]> =>
    (((await h.referral(id))?.details as { requirements?: { solutions?: Row[] } } | undefined)?.requirements?.solutions ?? []).map((s) => String(s.id)).sort();
  const dealSolutions = async (opportunityId: string) => (await h.sfSolutions()).readDealSolutions({ entity: 'opportunity', id: opportunityId });

  it('solutions follow both ways once the seller accepts the co-sell referral', async () => {
    const referral = await h.incomingReferral({
      name: 'Salesforce co-sell with solutions',
      customerProfile: { name: 'Sf Solutions Customer', address: { postalCode: '61030' } },
      details: { requirements: { solutions: [{ type: 'Name', id: FIRST }] } },
    });
    const opportunity = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    const opportunityId = String(opportunity.Id);
    await h.waitForIdle();
    // Leaving the on-hold stage accepts the referral; its solution then arrives on the deal.
    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Qualification' });
    await waitFor("Microsoft's solution on the deal", async () => ((await dealSolutions(opportunityId)).includes(FIRST) ? true : undefined));
    await h.waitForIdle();
    expect((await h.referral(referral.id))?.status).toBe('Active');

    // The partner adds a catalogue solution in Partner Center → the deal has it.
    const current = (await referralSolutions(referral.id)).map((id) => ({ type: 'Name', id }));
    await h.pcPartnerEdit(referral.id, [{ path: ['details', 'requirements', 'solutions'], value: [...current, { type: 'Name', id: SECOND }] }]);
    await waitFor('the Partner Center solution on the deal', async () => ((await dealSolutions(opportunityId)).includes(SECOND) ? true : undefined));
    await h.waitForIdle();
    expect(await dealSolutions(opportunityId)).toEqual([FIRST, SECOND].sort());

    // The seller adds one and removes one in the related list, then edits the deal → the referral follows.
    await (await h.sfSolutions()).writeDealSolutions({ entity: 'opportunity', id: opportunityId }, [SECOND, THIRD]);
    await h.sfSellerEdit('Opportunity', opportunityId, { Description: 'Solutions changed' });
    await waitFor('the referral following the deal', async () => ((await referralSolutions(referral.id)).join() === [SECOND, THIRD].sort().join() ? true : undefined));
    await h.waitForIdle();
    expect(await referralSolutions(referral.id)).toEqual([SECOND, THIRD].sort());
    expect(await h.deadLetters()).toEqual([]);
  });
});
