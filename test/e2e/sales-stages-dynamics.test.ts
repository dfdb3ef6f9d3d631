import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * Sales stages both ways with Dynamics, through the bundled mapping: Partner Center's stages (Qualified 20 %, Developed
 * 40 %, Proposed 60 %, Negotiated 80 %) ⇄ the opportunity's Sales Stage choice (0 Qualify … 3 Close). A seller moves the
 * opportunity in Dynamics (its Web API, as the form does) and the referral follows; the partner moves the referral in
 * Partner Center (its API) and the opportunity follows. Closing stays the status's business.
 */
describe('sales stages both ways with Dynamics', () => {
  const h = suiteHarness(() => SyncHarness.start({ sync: NOTIFICATIONS_ONLY }));

  /** A referral Microsoft shares at `salesStage`, accepted by the partner and synced to its opportunity. */
  function acceptedAt(name: string, salesStage: string): Promise<{ referralId: string; opportunityId: string }> {
    return h.acceptedPair({ name, salesStage, customerProfile: { name: `${name} Corp`, address: { postalCode: '98052', city: 'Redmond', country: 'US' } } });
  }

  async function settle(): Promise<void> {
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    await h.waitForIdle();
  }

  it('a seller who moves the opportunity to a later stage moves the referral to the matching Partner Center stage', async () => {
    const { opportunityId } = await h.dvCreateDeal({ name: 'Stage from Dynamics', company: 'Stage Dynamics Corp', value: 40_000, sync: true });
    const [created] = await waitFor('the referral', async () => {
      const found = await h.referralsForCrmId(opportunityId);
      return found.length > 0 ? found : undefined;
    });
    const referralId = String(created?.id);
    await h.waitForIdle();

    await h.dvSellerEdit('opportunities', opportunityId, { salesstage: 2 });
    await settle();
    expect((await h.referral(referralId))?.salesStage).toBe('Proposed');

    await h.dvSellerEdit('opportunities', opportunityId, { salesstage: 3 });
    await settle();
    const referral = await h.referral(referralId);
    // Only the stage moved: the referral stays open (Close is a stage, winning is the status's business).
    expect({ salesStage: referral?.salesStage, status: referral?.status }).toEqual({ salesStage: 'Negotiated', status: 'Active' });
    expect(await h.deadLetters()).toEqual([]);
  });

  // UI names, and the percentage / connector spellings, which read as the same stages and are left as Partner Center has them.
  it.each([
    ['Developed', 1, 'Negotiated'],
    ['60', 2, 'Close'],
  ] as const)('a referral shared at stage %s creates the opportunity at Sales Stage %i; Partner Center moving it to %s moves the opportunity', async (first, dynamicsStage, later) => {
    const { referralId, opportunityId } = await acceptedAt(`Stage ${first} to ${later}`, first);
    expect((await h.opportunity(opportunityId))?.salesstage).toBe(dynamicsStage);

    await h.pcPartnerEdit(referralId, [{ path: ['salesStage'], value: later }]);
    await settle();
    const opportunity = await waitFor('the opportunity at Close', async () => {
      const row = await h.opportunity(opportunityId);
      return row?.salesstage === 3 ? row : undefined;
    });
    expect(opportunity.statecode).toBe(0);
    // Not rewritten to another spelling of the same stage.
    expect((await h.referral(referralId))?.salesStage).toBe(later);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a referral won in Partner Center at stage Won closes the opportunity as won, at Close, with nothing refused', async () => {
    const { referralId, opportunityId } = await acceptedAt('Stage won', 'Developed');
    await h.pcPartnerEdit(referralId, [
      { path: ['status'], value: 'Closed' },
      { path: ['substatus'], value: 'Won' },
      { path: ['salesStage'], value: 'Won' },
    ]);
    await settle();
    const opportunity = await waitFor('the won opportunity', async () => {
      const row = await h.opportunity(opportunityId);
      return row?.statecode === 1 ? row : undefined;
    });
    expect(opportunity.salesstage).toBe(3);
    expect((await h.referral(referralId))?.salesStage).toBe('Won');
    expect(await h.deadLetters()).toEqual([]);
  });
});
