import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * Sales stages both ways with Salesforce, through the bundled mapping: Partner Center's stages (Accepted 10 %,
 * Qualified 20 %, Developed 40 %, Proposed 60 %, Negotiated 80 %) ⇄ StageName by the org's own stages and their
 * DefaultProbability (a new org's: Needs Analysis 20, Value Proposition 50, Id. Decision Makers 60, Negotiation/Review
 * 90). A seller moves the opportunity in Salesforce and the referral follows; the partner moves the referral in Partner
 * Center and the opportunity follows. The on-hold / active stage rule and closing stay the status's business.
 */
describe('sales stages both ways with Salesforce', () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ sync: NOTIFICATIONS_ONLY }));

  /** A referral Microsoft shares (at `salesStage` if given), accepted by the partner: the opportunity left on-hold. */
  async function acceptedPair(name: string, salesStage?: string): Promise<{ referralId: string; opportunityId: string }> {
    const referral = await h.incomingReferral({ name, ...(salesStage ? { salesStage } : {}), customerProfile: { name: `${name} Corp`, address: { postalCode: '61020' } } });
    const created = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    const opportunityId = String(created.Id);
    await h.waitForIdle();
    expect((await h.opportunity(opportunityId))?.StageName).toBe('Prospecting');
    await h.pcPartnerAccept(referral.id);
    await waitFor('the accepted opportunity', async () => ((await h.opportunity(opportunityId))?.StageName !== 'Prospecting' ? true : undefined));
    await h.waitForIdle();
    return { referralId: referral.id, opportunityId };
  }

  const stageOf = async (opportunityId: string) => (await h.opportunity(opportunityId))?.StageName;
  const salesStageOf = async (referralId: string) => (await h.referral(referralId))?.salesStage;

  it('a seller who moves the opportunity to a later stage moves the referral to the matching Partner Center stage', async () => {
    const { referralId, opportunityId } = await acceptedPair('Stage from Salesforce');
    // Acceptance parks the opportunity in the active stage (10 %).
    expect(await stageOf(opportunityId)).toBe('Qualification');

    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Needs Analysis' });
    await waitFor('Qualified in Partner Center', async () => ((await salesStageOf(referralId)) === 'Qualified' ? true : undefined));
    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Value Proposition' });
    await waitFor('Developed in Partner Center', async () => ((await salesStageOf(referralId)) === 'Developed' ? true : undefined));
    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Proposal/Price Quote' });
    await waitFor('Proposed in Partner Center', async () => ((await salesStageOf(referralId)) === 'Proposed' ? true : undefined));
    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Negotiation/Review' });
    await waitFor('Negotiated in Partner Center', async () => ((await salesStageOf(referralId)) === 'Negotiated' ? true : undefined));
    await h.waitForIdle();
    // Only the stage moved: the referral stays open, and the seller's stage is not rewritten to another of the same 80 %.
    expect(await h.referral(referralId)).toMatchObject({ status: 'Active', salesStage: 'Negotiated' });
    expect(await stageOf(opportunityId)).toBe('Negotiation/Review');
    expect(await h.deadLetters()).toEqual([]);
  });

  it.each([
    ['Qualified', 'Needs Analysis'],
    ['Developed', 'Value Proposition'],
    ['Proposed', 'Id. Decision Makers'],
    ['Negotiated', 'Negotiation/Review'],
    // The percentage and connector spellings read as the same stages and are left as Partner Center has them.
    ['60', 'Id. Decision Makers'],
    ['Develop', 'Value Proposition'],
  ] as const)('Partner Center moving an accepted referral to %s moves the opportunity to %s', async (stage, stageName) => {
    const { referralId, opportunityId } = await acceptedPair(`Stage to ${stage}`);
    await h.pcPartnerEdit(referralId, [{ path: ['salesStage'], value: stage }]);
    await waitFor(`the opportunity at ${stageName}`, async () => ((await stageOf(opportunityId)) === stageName ? true : undefined));
    await h.waitForIdle();
    expect(await stageOf(opportunityId)).toBe(stageName);
    expect(await h.referral(referralId)).toMatchObject({ status: 'Active', salesStage: stage });
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a stage of the same percentage is kept: Partner Center at Proposed leaves a seller’s Proposal/Price Quote alone', async () => {
    const { referralId, opportunityId } = await acceptedPair('Stage kept');
    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Proposal/Price Quote' });
    await waitFor('Proposed in Partner Center', async () => ((await salesStageOf(referralId)) === 'Proposed' ? true : undefined));
    await h.pcPartnerEdit(referralId, [{ path: ['details', 'notes'], value: 'Pricing agreed' }]);
    await waitFor('notes on the opportunity', async () => ((await h.opportunity(opportunityId))?.Description === 'Pricing agreed' ? true : undefined));
    await h.waitForIdle();
    expect(await stageOf(opportunityId)).toBe('Proposal/Price Quote');
  });

  it('a referral won in Partner Center closes the opportunity as won, with nothing refused', async () => {
    const { referralId, opportunityId } = await acceptedPair('Stage won', 'Developed');
    await h.pcPartnerEdit(referralId, [{ path: ['salesStage'], value: 'Proposed' }]);
    await waitFor('the opportunity at Id. Decision Makers', async () => ((await stageOf(opportunityId)) === 'Id. Decision Makers' ? true : undefined));
    await h.pcPartnerClose(referralId, 'Won', 'Signed');
    await waitFor('the opportunity won', async () => ((await stageOf(opportunityId)) === 'Closed Won' ? true : undefined));
    await h.waitForIdle();
    expect(await h.referral(referralId)).toMatchObject({ status: 'Closed', substatus: 'Won' });
    expect(await h.deadLetters()).toEqual([]);
  });
});
