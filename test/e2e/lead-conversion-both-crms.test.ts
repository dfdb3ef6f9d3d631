import { describe, expect, it } from 'vitest';
import { SANDBOX_USERS } from '../../src/sandbox/dataverse/index.ts';
import type { Connection } from 'jsforce';
import { dataverseToken } from '../support/dataverse-identities.ts';
import { convertLeadAsSeller, sellerConnection } from '../support/salesforce-seller.ts';
import { json, waitFor, type Row } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * A seller converts a synced lead in the CRM (Dynamics QualifyLead with CreateOpportunity through the Web API, signed
 * in as the seller; Salesforce's SOAP API convertLead() through jsforce with the seller's session): the link moves to the opportunity the CRM made, the
 * referral is accepted, and neither a second opportunity nor a second referral appears — also after 20 conversions,
 * with the seller ticking "Sync with Partner Center" on each new opportunity straight away.
 */

const CONVERSIONS = 20;

/** An unaccepted, partner-only lead from Microsoft (becomes a CRM lead). */
const leadReferral = (name: string, postalCode: string): Row => ({
  name,
  type: 'Independent',
  status: 'New',
  substatus: 'Received',
  microsoftSide: false,
  customerProfile: { name: `${name} Inc`, address: { postalCode, city: 'Seattle', country: 'US' } },
});

interface DealView {
  deal: { crmEntity: string | null; crmId: string | null };
}

describe('a seller qualifies a synced lead in Dynamics (QualifyLead)', () => {
  let sellerToken: string;
  const h = suiteHarness(() => SyncHarness.start({ sync: NOTIFICATIONS_ONLY }), {
    afterStart: async () => {
      sellerToken = await dataverseToken(h.dv.url, { seller: SANDBOX_USERS.seller.domainname });
    },
  });

  const leadFor = async (referralId: string) => (await h.records('leads')).find((l) => l.cosell_referralidentifier === referralId);

  async function syncedLead(name: string, postalCode: string): Promise<{ referralId: string; leadId: string }> {
    const referral = await h.incomingReferral(leadReferral(name, postalCode));
    const lead = await waitFor('the lead for the referral', () => leadFor(referral.id));
    return { referralId: referral.id, leadId: String(lead.leadid) };
  }

  /** The seller's "Qualify" button: the bound QualifyLead action through the Web API with the seller's own token. */
  async function qualifyAsSeller(leadId: string): Promise<string> {
    const body = await json<{ value: Row[] }>(`${h.dv.url}/api/data/v9.2/leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sellerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ CreateAccount: true, CreateContact: true, CreateOpportunity: true, Status: 3 }),
    });
    const id = body.value.find((row) => typeof row.opportunityid === 'string')?.opportunityid;
    if (typeof id !== 'string') throw new Error('QualifyLead created no opportunity');
    return id;
  }

  it('moves the link to the opportunity, accepts the referral, creates nothing twice', async () => {
    const { referralId, leadId } = await syncedLead('Fabrikam lead', '98101');
    await h.waitForIdle();
    const opportunityId = await qualifyAsSeller(leadId);
    await h.waitForWebhooks();
    await h.waitForIdle();

    expect((await h.opportunitiesFor(referralId)).map((o) => o.opportunityid)).toEqual([opportunityId]);
    expect(await h.opportunities()).toHaveLength(1);
    const referral = await h.referral(referralId);
    expect(referral).toMatchObject({ status: 'Active', substatus: 'Accepted', externalReferenceId: opportunityId });
    expect(await h.referrals()).toHaveLength(1);
    expect(await h.api<DealView>(`/api/deals/dynamics/${referralId}`)).toMatchObject({ deal: { crmEntity: 'opportunity', crmId: opportunityId } });
    const trail = (await h.audit({ referralId, limit: 200 })).map((e) => e.message ?? '');
    expect(trail.filter((m) => m === `lead converted by the seller → opportunity ${opportunityId}`)).toHaveLength(1);

    // The pair now syncs through the opportunity: a Partner Center edit reaches it.
    await h.pcSellerEdit(referralId, { details: { notes: 'Budget approved' } });
    await waitFor('notes on the opportunity', async () => ((await h.opportunity(opportunityId))?.description === 'Budget approved' ? true : undefined));
  });

  it(`after ${CONVERSIONS} conversions: one opportunity per referral, one referral per deal`, async () => {
    const before = { opportunities: (await h.opportunities()).length, referrals: (await h.referrals()).length };
    const pairs = [];
    for (let i = 0; i < CONVERSIONS; i++) pairs.push(await syncedLead(`Contoso lead ${i}`, String(10_000 + i)));
    await h.waitForIdle();
    const converted = new Map<string, string>();
    for (const { referralId, leadId } of pairs) {
      const opportunityId = await qualifyAsSeller(leadId);
      converted.set(referralId, opportunityId);
      // The seller ticks "Sync with Partner Center" on the new deal at once: it must not be sent as a new referral.
      await h.dvSellerEdit('opportunities', opportunityId, { cosell_syncwithpartnercenter: true });
    }
    await h.waitForWebhooks();
    await h.waitForIdle();

    for (const [referralId, opportunityId] of converted) {
      expect((await h.opportunitiesFor(referralId)).map((o) => o.opportunityid)).toEqual([opportunityId]);
      expect(await h.referral(referralId)).toMatchObject({ status: 'Active', substatus: 'Accepted', externalReferenceId: opportunityId });
      expect(await h.referralsForCrmId(opportunityId)).toHaveLength(1);
    }
    expect(await h.opportunities()).toHaveLength(before.opportunities + CONVERSIONS);
    expect(await h.referrals()).toHaveLength(before.referrals + CONVERSIONS);
  }, 120_000);
});

describe('a seller converts a synced lead in Salesforce (convertLead)', () => {
  let seller: Connection;
  const h = suiteHarness(() => SalesforceSyncHarness.start({ sync: NOTIFICATIONS_ONLY }), {
    afterStart: async () => {
      seller = await sellerConnection(h.sf.url);
    },
  });

  const leadFor = async (referralId: string) => (await h.records('Lead')).find((l) => l.Referral_Identifier__c === referralId);

  async function syncedLead(name: string, postalCode: string): Promise<{ referralId: string; leadId: string }> {
    const referral = await h.incomingReferral(leadReferral(name, postalCode));
    const lead = await waitFor('the lead for the referral', () => leadFor(referral.id));
    return { referralId: referral.id, leadId: String(lead.Id) };
  }

  /** The seller's "Convert": the SOAP API's convertLead() (jsforce `conn.soap.convertLead`) with the seller's session. */
  async function convertAsSeller(leadId: string): Promise<string> {
    const { opportunityId } = await convertLeadAsSeller(seller, leadId);
    if (typeof opportunityId !== 'string') throw new Error('the conversion created no opportunity');
    return opportunityId;
  }

  it('moves the link to the opportunity, accepts the referral, creates nothing twice', async () => {
    const { referralId, leadId } = await syncedLead('Northwind lead', '61020');
    await h.waitForIdle();
    const opportunityId = await convertAsSeller(leadId);
    await waitFor('the referral accepted', async () => ((await h.referral(referralId))?.status === 'Active' ? true : undefined));
    await h.waitForIdle();

    expect((await h.opportunitiesFor(referralId)).map((o) => o.Id)).toEqual([opportunityId]);
    expect(await h.opportunities()).toHaveLength(1);
    expect(await h.referral(referralId)).toMatchObject({ status: 'Active', substatus: 'Accepted', externalReferenceId: opportunityId });
    expect(await h.referrals()).toHaveLength(1);
    // Accepted: the opportunity left the on-hold stage for the active one, as Microsoft's connector does.
    expect((await h.opportunity(opportunityId))?.StageName).not.toBe('Prospecting');
    expect(await h.api<DealView>(`/api/deals/salesforce/${referralId}`)).toMatchObject({ deal: { crmEntity: 'opportunity', crmId: opportunityId } });
    const trail = (await h.audit({ referralId, limit: 200 })).map((e) => e.message ?? '');
    expect(trail.filter((m) => m === `lead converted by the seller → opportunity ${opportunityId}`)).toHaveLength(1);

    await h.pcSellerEdit(referralId, { details: { notes: 'Budget approved' } });
    await waitFor('notes on the opportunity', async () => ((await h.opportunity(opportunityId))?.Description === 'Budget approved' ? true : undefined));
  });

  it(`after ${CONVERSIONS} conversions: one opportunity per referral, one referral per deal`, async () => {
    const before = { opportunities: (await h.opportunities()).length, referrals: (await h.referrals()).length };
    const pairs = [];
    for (let i = 0; i < CONVERSIONS; i++) pairs.push(await syncedLead(`Tailspin lead ${i}`, String(20_000 + i)));
    await h.waitForIdle();
    const converted = new Map<string, string>();
    for (const { referralId, leadId } of pairs) {
      const opportunityId = await convertAsSeller(leadId);
      converted.set(referralId, opportunityId);
      await h.sfSellerEdit('Opportunity', opportunityId, { Sync_with_Partner_Center__c: true });
    }
    await waitFor('every referral accepted', async () => {
      const states = await Promise.all([...converted.keys()].map(async (id) => (await h.referral(id))?.status));
      return states.every((s) => s === 'Active') ? true : undefined;
    }, 60_000);
    await h.waitForIdle();

    for (const [referralId, opportunityId] of converted) {
      expect((await h.opportunitiesFor(referralId)).map((o) => o.Id)).toEqual([opportunityId]);
      expect(await h.referral(referralId)).toMatchObject({ status: 'Active', substatus: 'Accepted', externalReferenceId: opportunityId });
      expect(await h.referralsForCrmId(opportunityId)).toHaveLength(1);
    }
    expect(await h.opportunities()).toHaveLength(before.opportunities + CONVERSIONS);
    expect(await h.referrals()).toHaveLength(before.referrals + CONVERSIONS);
  }, 120_000);
});
