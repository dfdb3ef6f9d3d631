import { describe, expect, it } from 'vitest';
import { waitFor } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * Issue 11: an acceptance must not send a referral's sales stage back to Accepted. Microsoft shares a referral at
 * Qualified (20 %); the opportunity waits in the on-hold stage (Prospecting), where no sales stage is read. Leaving
 * on-hold lands on the active stage (Qualification, 10 % in a new org) — by the seller in Salesforce or by the sync
 * when the partner accepts in Partner Center. Either way the opportunity must end in the 20 % open stage (Needs
 * Analysis) and Partner Center must still say Qualified; a later seller move to 40 % (Value Proposition) is Developed.
 */
describe('sales stage kept through an acceptance with Salesforce', () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ sync: NOTIFICATIONS_ONLY }));

  const stageOf = async (opportunityId: string) => (await h.opportunity(opportunityId))?.StageName;

  /** A referral Microsoft shares at Qualified, its opportunity created on hold. */
  async function sharedAtQualified(name: string): Promise<{ referralId: string; opportunityId: string }> {
    const referral = await h.incomingReferral({ name, salesStage: 'Qualified', customerProfile: { name: `${name} Corp`, address: { postalCode: '61020' } } });
    const created = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    const opportunityId = String(created.Id);
    await h.waitForIdle();
    expect(await stageOf(opportunityId)).toBe('Prospecting');
    return { referralId: referral.id, opportunityId };
  }

  /** After the acceptance: 20 % stage, Qualified in Partner Center; then a seller's move to 40 % reaches it as Developed. */
  async function expectQualifiedThenDeveloped(referralId: string, opportunityId: string): Promise<void> {
    await waitFor('the opportunity in the 20 % stage', async () => ((await stageOf(opportunityId)) === 'Needs Analysis' ? true : undefined));
    await h.waitForIdle();
    expect(await stageOf(opportunityId)).toBe('Needs Analysis');
    expect(await h.referral(referralId)).toMatchObject({ status: 'Active', salesStage: 'Qualified' });

    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Value Proposition' });
    await waitFor('Developed in Partner Center', async () => ((await h.referral(referralId))?.salesStage === 'Developed' ? true : undefined));
    await h.waitForIdle();
    expect(await stageOf(opportunityId)).toBe('Value Proposition');
    expect(await h.referral(referralId)).toMatchObject({ status: 'Active', salesStage: 'Developed' });
    expect(await h.deadLetters()).toEqual([]);
  }

  it('accepted by the seller in Salesforce (on-hold → the active stage): the opportunity moves to 20 %, Partner Center keeps Qualified', async () => {
    const { referralId, opportunityId } = await sharedAtQualified('Accept in Salesforce at Qualified');
    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Qualification' });
    await waitFor('the referral accepted', async () => ((await h.referral(referralId))?.status === 'Active' ? true : undefined));
    await expectQualifiedThenDeveloped(referralId, opportunityId);
  });

  it('a seller who accepts straight into a later stage keeps it: Partner Center gets Developed', async () => {
    const { referralId, opportunityId } = await sharedAtQualified('Accept in Salesforce at Developed');
    await h.sfSellerEdit('Opportunity', opportunityId, { StageName: 'Value Proposition' });
    await waitFor('Developed in Partner Center', async () => ((await h.referral(referralId))?.salesStage === 'Developed' ? true : undefined));
    await h.waitForIdle();
    expect(await h.referral(referralId)).toMatchObject({ status: 'Active', salesStage: 'Developed' });
    expect(await stageOf(opportunityId)).toBe('Value Proposition');
    expect(await h.deadLetters()).toEqual([]);
  });

  it('accepted in Partner Center: the opportunity leaves on-hold for the 20 % stage, Partner Center keeps Qualified', async () => {
    const { referralId, opportunityId } = await sharedAtQualified('Accept in Partner Center at Qualified');
    await h.pcPartnerAccept(referralId);
    await expectQualifiedThenDeveloped(referralId, opportunityId);
  });
});
