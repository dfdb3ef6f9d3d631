import { describe, expect, it } from 'vitest';
import { waitFor, writes, type Row } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { VISIBILITY_KEPT } from '../../src/sync/plan/visibility.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * A Dynamics seller's co-sell deal reaching Microsoft, through the sandboxes and Dataverse's own API: Sync with Partner
 * Center = Yes, a "How can Microsoft help?" option and one Microsoft solution make a Shared referral naming that
 * solution plus Microsoft's connected referral in the same engagement ("Create a referral", creating a shared referral
 * via API). Partner Center's sandbox runs with its strict co-sell rules, so a body it would refuse fails here too.
 */

const SYNC_FAILED = 100_000_001;
const HELP_PROOF_OF_CONCEPT = 100_000_002;
/** One of the Partner Center sandbox's seeded, co-sell ready solutions. */
const SOLUTION = 'SOL-34104-EBB';
/** "Co-sell Decision" = Decline and "Decline Reason" = Customer not interested (custom-columns.ts option values). */
const DECISION_ACCEPT = 100_000_000;
const DECISION_DECLINE = 100_000_001;
const REASON_NOT_INTERESTED = 100_000_001;

describe('co-sell deals from Dynamics', () => {
  const h = suiteHarness(() => SyncHarness.start({ pcStrictCoSell: true, sync: NOTIFICATIONS_ONLY }), {
    afterStart: async () => {
      await h.dvImportSolutions([{ solutionId: SOLUTION, name: 'Cloud Migration Factory', coSellReady: true }]);
    },
  });

  const solutionIds = (referral: Row): unknown[] =>
    ((referral.details as { requirements?: { solutions?: Array<{ id?: unknown }> } } | undefined)?.requirements?.solutions ?? []).map((s) => s.id);

  it('a deal with help and one solution becomes a Shared referral naming it, with Microsoft connected in its engagement', async () => {
    const { opportunityId } = await h.dvCreateDeal({ name: 'Co-sell with Microsoft', company: 'Cosell Corp', value: 120_000, sync: true, help: HELP_PROOF_OF_CONCEPT, solutions: [SOLUTION] });
    const opportunity = await waitFor('the referral id on the opportunity', async () => {
      const o = await h.opportunity(opportunityId);
      return typeof o?.cosell_referralidentifier === 'string' && o.cosell_referralidentifier !== '' ? o : undefined;
    });
    const partner = await h.referral(String(opportunity.cosell_referralidentifier));
    expect(partner).toMatchObject({ type: 'Shared', externalReferenceId: opportunityId, inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo' } });
    expect(partner?.organizationId).not.toBe('msft');
    expect(solutionIds(partner ?? {})).toEqual([SOLUTION]);
    const engagement = (await h.referrals()).filter((r) => r.engagementId === partner?.engagementId && r.id !== partner?.id);
    expect(engagement.map((r) => r.organizationId)).toEqual(['msft']);
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
    const settled = await h.opportunity(opportunityId);
    expect(settled?.cosell_syncstatus).not.toBe(SYNC_FAILED);
    // Asking for Microsoft's help made the deal visible to Microsoft sellers; the CRM shows what Partner Center holds.
    expect(settled?.cosell_referralvisibility).toBe(true);
  });

  it('a co-sell deal without a solution gets ✖ and an Audit line naming Microsoft Solutions; Partner Center receives nothing', async () => {
    await h.waitForIdle();
    const pcWritesBefore = writes((await h.pcRequests()).routes);
    const referralsBefore = (await h.referrals()).length;
    const { opportunityId } = await h.dvCreateDeal({ name: 'Co-sell without a solution', company: 'Nosolution Corp', value: 90_000, sync: true, help: HELP_PROOF_OF_CONCEPT });
    const opportunity = await waitFor('the ✖ status on the opportunity', async () => {
      const o = await h.opportunity(opportunityId);
      return o?.cosell_syncstatus === SYNC_FAILED ? o : undefined;
    });
    await h.waitForIdle();
    expect(String(opportunity.name)).toMatch(/ ✖$/);
    expect(String(opportunity.cosell_audit)).toContain('Microsoft Solutions: add at least one Microsoft solution');
    const failures = (await h.audit({ crmId: opportunityId })).filter((e) => e.outcome === 'failed' && e.direction === 'to-pc');
    expect(failures.map((f) => f.message)).toEqual([expect.stringContaining('add at least one Microsoft solution')]);
    expect(await h.referralsForCrmId(opportunityId)).toEqual([]);
    expect((await h.referrals()).length).toBe(referralsBefore);
    expect(writes((await h.pcRequests()).routes)).toBe(pcWritesBefore);
  });

  it('Decline with a reason on the opportunity declines the incoming co-sell referral: Closed/Declined with that reason', async () => {
    const referral = await h.incomingReferral({ name: 'Co-sell to decline', customerProfile: { name: 'Decline Customer', address: { postalCode: '61010' } } });
    const opportunity = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    await h.waitForIdle();
    expect(await h.referral(referral.id)).toMatchObject({ status: 'New' });
    await h.dvSellerEdit('opportunities', String(opportunity.opportunityid), { cosell_coselldecision: DECISION_DECLINE, cosell_declinereason: REASON_NOT_INTERESTED });
    const declined = await waitFor('the declined referral', async () => {
      const r = await h.referral(referral.id);
      return r?.status === 'Closed' ? r : undefined;
    });
    expect(declined).toMatchObject({ status: 'Closed', substatus: 'Declined', statusReason: 'Customer not interested' });
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });

  it('Accept on the opportunity accepts the incoming co-sell referral', async () => {
    const referral = await h.incomingReferral({ name: 'Co-sell to accept', customerProfile: { name: 'Accept Customer', address: { postalCode: '61011' } } });
    const opportunity = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    await h.waitForIdle();
    await h.dvSellerEdit('opportunities', String(opportunity.opportunityid), { cosell_coselldecision: DECISION_ACCEPT });
    const accepted = await waitFor('the accepted referral', async () => {
      const r = await h.referral(referral.id);
      return r?.status === 'Active' ? r : undefined;
    });
    expect(accepted).toMatchObject({ status: 'Active', substatus: 'Accepted' });
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });

  it("a seller's edit of an unanswered incoming referral waits (audited) and reaches Partner Center with the acceptance", async () => {
    const referral = await h.incomingReferral({ name: 'Co-sell edited before acceptance', details: { notes: 'from Microsoft' }, customerProfile: { name: 'Early Edit Customer', address: { postalCode: '61012' } } });
    const opportunity = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    const opportunityId = String(opportunity.opportunityid);
    await h.waitForIdle();
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Kick-off booked' });
    const held = await waitFor('the held edit in the audit', async () => (await h.audit({ referralId: referral.id })).find((e) => e.field === 'notes' && e.outcome === 'skipped'));
    expect(held.message).toContain('not accepted yet');
    await h.waitForIdle();
    // Partner Center (strict: an unaccepted incoming referral takes only an accept or a decline) received nothing.
    expect(await h.referral(referral.id)).toMatchObject({ status: 'New', details: { notes: 'from Microsoft' } });
    expect(await h.deadLetters()).toEqual([]);
    expect((await h.opportunity(opportunityId))?.cosell_syncstatus).not.toBe(SYNC_FAILED);
    expect((await h.audit({ referralId: referral.id })).filter((e) => e.field === 'notes' && e.outcome === 'skipped')).toHaveLength(1);

    await h.dvSellerEdit('opportunities', opportunityId, { cosell_coselldecision: DECISION_ACCEPT });
    const accepted = await waitFor('the accepted referral with the edit that waited', async () => {
      const r = await h.referral(referral.id);
      return r?.status === 'Active' && (r.details as { notes?: unknown } | undefined)?.notes === 'Kick-off booked' ? r : undefined;
    });
    expect(accepted).toMatchObject({ substatus: 'Accepted' });
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
    expect((await h.opportunity(opportunityId))?.description).toBe('Kick-off booked');
  });

  const referralOf = async (opportunityId: string): Promise<Row> => {
    const opportunity = await waitFor('the referral id on the opportunity', async () => {
      const o = await h.opportunity(opportunityId);
      return typeof o?.cosell_referralidentifier === 'string' && o.cosell_referralidentifier !== '' ? o : undefined;
    });
    return (await h.referral(String(opportunity.cosell_referralidentifier)))!;
  };

  it('a private deal upgraded to co-sell later (help + a solution) becomes Shared with the solution and Microsoft connected in its engagement', async () => {
    const { opportunityId } = await h.dvCreateDeal({ name: 'Private first, co-sell later', company: 'Upgrade Corp', value: 70_000, sync: true });
    const before = await referralOf(opportunityId);
    expect(before).toMatchObject({ type: 'Independent', consent: { consentToShareReferralWithMicrosoftSellers: false } });
    await h.waitForIdle();

    await h.dvChooseSolutions(opportunityId, [SOLUTION]);
    await h.dvSellerEdit('opportunities', opportunityId, { cosell_howcanmicrosofthelp: HELP_PROOF_OF_CONCEPT });
    const upgraded = await waitFor('the referral made co-sell', async () => {
      const r = await h.referral(String(before.id));
      return r?.type === 'Shared' ? r : undefined;
    });
    expect(upgraded).toMatchObject({ consent: { consentToShareReferralWithMicrosoftSellers: true }, inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo' } });
    expect(solutionIds(upgraded)).toEqual([SOLUTION]);
    const microsoft = await waitFor("Microsoft's connected referral", async () =>
      (await h.referrals()).find((r) => r.engagementId === upgraded.engagementId && r.organizationId === 'msft'),
    );
    expect(microsoft.id).not.toBe(upgraded.id);
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
    expect((await h.opportunity(opportunityId))?.cosell_referralvisibility).toBe(true);

    // Going back is refused: the deal stays visible to Microsoft sellers, and the Audit says why.
    await h.dvSellerEdit('opportunities', opportunityId, { cosell_referralvisibility: false });
    const refused = await waitFor('the refused downgrade in the audit', async () =>
      (await h.audit({ crmId: opportunityId })).find((e) => e.field === 'referralVisibility' && e.outcome === 'skipped'),
    );
    expect(refused.message).toBe(VISIBILITY_KEPT);
    await h.waitForIdle();
    expect(await h.referral(String(before.id))).toMatchObject({ type: 'Shared', consent: { consentToShareReferralWithMicrosoftSellers: true } });
    expect((await h.opportunity(opportunityId))?.cosell_referralvisibility).toBe(true);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('asking for help on a private deal without a solution waits with ✖ and an Audit line naming Microsoft Solutions; the solution then makes it co-sell', async () => {
    const { opportunityId } = await h.dvCreateDeal({ name: 'Private, help without a solution', company: 'Nosolution Upgrade Corp', value: 40_000, sync: true });
    const before = await referralOf(opportunityId);
    await h.waitForIdle();
    await h.dvSellerEdit('opportunities', opportunityId, { cosell_howcanmicrosofthelp: HELP_PROOF_OF_CONCEPT });
    const flagged = await waitFor('the ✖ on the opportunity', async () => {
      const o = await h.opportunity(opportunityId);
      return o?.cosell_syncstatus === SYNC_FAILED ? o : undefined;
    });
    expect(String(flagged.name)).toMatch(/ ✖$/);
    expect(String(flagged.cosell_audit)).toContain('Microsoft Solutions: add at least one Microsoft solution');
    await h.waitForIdle();
    expect(await h.referral(String(before.id))).toMatchObject({ type: 'Independent' });
    expect(await h.deadLetters()).toEqual([]);

    await h.dvChooseSolutions(opportunityId, [SOLUTION]);
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Solution chosen' });
    const upgraded = await waitFor('the referral made co-sell', async () => {
      const r = await h.referral(String(before.id));
      return r?.type === 'Shared' ? r : undefined;
    });
    expect(solutionIds(upgraded)).toEqual([SOLUTION]);
    await waitFor('the ✔ back on the opportunity', async () => (await h.opportunity(opportunityId))?.cosell_syncstatus !== SYNC_FAILED);
    await waitFor("Microsoft's connected referral", async () => (await h.referrals()).find((r) => r.engagementId === upgraded.engagementId && r.organizationId === 'msft'));
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });
  it("a co-sell deal's Microsoft Solutions sync both ways: added and removed in Dynamics, added in Partner Center; never left with none", async () => {
    const second = 'SOL-20816-QWE';
    const third = 'SOL-11873-MWP';
    /** Owned by the partner in Partner Center, but not in the CRM catalogue. */
    const notInCrm = 'SOL-47715-DAT';
    await h.dvImportSolutions([
      { solutionId: second, name: 'Supply Chain Accelerator', coSellReady: true },
      { solutionId: third, name: 'Modern Workplace in a Box', coSellReady: true },
    ]);
    const { opportunityId } = await h.dvCreateDeal({ name: 'Co-sell solutions both ways', company: 'Solutions Corp', value: 75_000, sync: true, help: HELP_PROOF_OF_CONCEPT, solutions: [SOLUTION] });
    const referralId = String((await referralOf(opportunityId)).id);
    await h.waitForIdle();
    const sorted = async () => solutionIds((await h.referral(referralId)) ?? {}).map(String).sort();

    // The seller adds a solution in the subgrid (a related row: the opportunity itself does not change), then edits the deal.
    await h.dvChooseSolutions(opportunityId, [SOLUTION, second]);
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Second solution added' });
    await waitFor('the added solution on the referral', async () => ((await sorted()).includes(second) ? true : undefined));
    await h.waitForIdle();
    expect(await sorted()).toEqual([SOLUTION, second].sort());

    // Removed in the CRM → gone from the referral.
    await h.dvChooseSolutions(opportunityId, [second]);
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'First solution removed' });
    await waitFor('the removed solution gone from the referral', async () => ((await sorted()).includes(SOLUTION) ? undefined : true));
    await h.waitForIdle();
    expect(await sorted()).toEqual([second]);

    // The partner adds one catalogue solution and one the CRM lacks in Partner Center → the deal gets the first only.
    await h.pcPartnerEdit(referralId, [{ path: ['details', 'requirements', 'solutions'], value: [second, third, notInCrm].map((id) => ({ type: 'Name', id })) }]);
    await waitFor('the Partner Center solution on the deal', async () => ((await h.dvDealSolutions(opportunityId)).includes(third) ? true : undefined));
    await h.waitForIdle();
    expect(await h.dvDealSolutions(opportunityId)).toEqual([third, second].sort());
    expect(await sorted()).toEqual([second, third, notInCrm].sort());
    const unknown = (await h.audit({ crmId: opportunityId })).filter((e) => e.outcome === 'skipped' && e.message?.includes(notInCrm));
    expect(unknown).toHaveLength(1);

    // The seller removes every solution: the CRM-only ones go, the one the CRM lacks stays, so the referral keeps one.
    await h.dvChooseSolutions(opportunityId, []);
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'All solutions removed' });
    await waitFor('the CRM solutions gone from the referral', async () => ((await sorted()).length === 1 ? true : undefined));
    await h.waitForIdle();
    expect(await sorted()).toEqual([notInCrm]);
    expect(await h.deadLetters()).toEqual([]);
  });
});
