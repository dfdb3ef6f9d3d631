import { describe, expect, it } from 'vitest';
import { DEMO_DEAL_NAMES, DEMO_SOLUTION, seedCoSellDemoDeals } from '../../src/cli/demo-deals.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { DualCrmHarness } from '../support/dual-crm-harness.ts';
import { waitFor, type Row } from '../support/service-harness.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * `npm start`'s co-sell demo (src/cli/dev.ts seeds it the same way), with both CRMs and the strict Partner Center
 * sandbox: in each CRM the deal marked for co-sell with a Microsoft solution becomes a Shared referral naming it with
 * Microsoft's connected referral in its engagement; the one without a solution gets ✖ and an Audit line, and Partner
 * Center receives nothing for it.
 */

const DV_SYNC_FAILED = 100_000_001;

describe("npm start's co-sell demo deals, in each CRM", () => {
  const h = suiteHarness(() => DualCrmHarness.start({ pcStrictCoSell: true, sync: NOTIFICATIONS_ONLY }), {
    afterStart: async () => {
      await seedCoSellDemoDeals(h.config, silentLogger());
    },
  });

  const solutionIds = (referral: Row | undefined): unknown[] =>
    ((referral?.details as { requirements?: { solutions?: Array<{ id?: unknown }> } } | undefined)?.requirements?.solutions ?? []).map((s) => s.id);

  const crms = [
    { crm: 'dynamics' as const, opportunities: () => h.dvOpportunities(), id: (o: Row) => String(o.opportunityid), name: (o: Row) => String(o.name), failed: (o: Row) => o.cosell_syncstatus === DV_SYNC_FAILED, audit: (o: Row) => String(o.cosell_audit) },
    { crm: 'salesforce' as const, opportunities: () => h.sfOpportunities(), id: (o: Row) => String(o.Id), name: (o: Row) => String(o.Name), failed: (o: Row) => o.Sync_Status__c === 'Failed', audit: (o: Row) => String(o.Audit__c) },
  ];

  for (const side of crms) {
    it(`${side.crm}: the deal with a solution is a Shared referral naming it, Microsoft connected in its engagement`, async () => {
      const deal = (await side.opportunities()).find((o) => side.name(o).startsWith(DEMO_DEAL_NAMES[side.crm].withSolution));
      expect(deal).toBeDefined();
      const [partner] = await waitFor('the referral for the demo deal', async () => {
        const found = await h.referralsForCrmId(side.id(deal!));
        return found.length > 0 ? found : undefined;
      });
      expect(partner).toMatchObject({ type: 'Shared', inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo' } });
      expect(solutionIds(partner)).toEqual([DEMO_SOLUTION.solutionId]);
      const microsoft = await waitFor("Microsoft's connected referral", async () =>
        (await h.referrals()).find((r) => r.engagementId === partner?.engagementId && r.organizationId === 'msft'),
      );
      expect(microsoft.id).not.toBe(partner?.id);
    });

    it(`${side.crm}: the deal without a solution gets ✖ and an Audit line; Partner Center has nothing for it`, async () => {
      const deal = await waitFor('the ✖ on the demo deal without a solution', async () =>
        (await side.opportunities()).find((o) => side.name(o).startsWith(DEMO_DEAL_NAMES[side.crm].withoutSolution) && side.failed(o)),
      );
      expect(side.name(deal)).toMatch(/ ✖$/);
      expect(side.audit(deal)).toContain('add at least one Microsoft solution');
      expect(await h.referralsForCrmId(side.id(deal))).toEqual([]);
    });
  }

  it("a Microsoft seller who takes the deal is shown on it in each CRM: name and e-mail, as Partner Center provides them", async () => {
    const dynamicsDeal = (await h.dvOpportunities()).find((o) => String(o.name).startsWith(DEMO_DEAL_NAMES.dynamics.withSolution));
    const [partner] = await h.referralsForCrmId(String(dynamicsDeal?.opportunityid));
    const seller = { firstName: 'Megan', lastName: 'Bowen', email: 'megan.bowen@microsoft.com' };
    await fetch(`${h.pc.url}/_sandbox/microsoft/engagements/${String(partner?.engagementId)}/accept`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seller }) });
    const dynamics = await waitFor('the Microsoft seller on the Dynamics opportunity', async () => {
      const o = (await h.dvOpportunities()).find((row) => row.opportunityid === dynamicsDeal?.opportunityid);
      return o?.cosell_microsoftsellername ? o : undefined;
    });
    expect(dynamics).toMatchObject({ cosell_microsoftsellername: 'Megan Bowen', cosell_microsoftselleremail: 'megan.bowen@microsoft.com', cosell_microsoftstatus: 'Accepted' });
    // The same referral's opportunity in Salesforce (both CRMs sync every referral).
    const salesforce = await waitFor('the Microsoft seller on the Salesforce opportunity', async () =>
      (await h.sfOpportunities()).find((o) => o.Referral_Identifier__c === partner?.id && o.Microsoft_Seller_Name__c),
    );
    expect(salesforce).toMatchObject({ Microsoft_Seller_Name__c: 'Megan Bowen', Microsoft_Seller_Email__c: 'megan.bowen@microsoft.com' });
  });

  it('nothing ends in dead letters', async () => {
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });
});
