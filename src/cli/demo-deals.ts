import type { Config } from '../config/schema.ts';
import type { CrmRecordRef } from '../crm/connector.ts';
import type { MicrosoftSolution, MicrosoftSolutionsApi } from '../crm/solutions.ts';
import type { Logger } from '../util/logger.ts';

/*
 * `npm start`'s co-sell demo, in each CRM: the partner's Microsoft solution loaded into the CRM's catalogue (what
 * `cosell solutions import` does), then two deals a seller marked for co-sell — one with that solution, which becomes a
 * Shared referral with Microsoft's connected referral in its engagement, and one without, which Partner Center would
 * refuse ("Solution ID is required") and so gets ✖ and an Audit line instead. The seller's clicks go through the
 * sandboxes' record routes (their stand-in for the CRM's UI); the catalogue and the chosen solutions through the
 * connectors, as the CLI and a seller's subgrid / related list would.
 */

/** One of the Partner Center sandbox's seeded, co-sell ready solutions. */
export const DEMO_SOLUTION: MicrosoftSolution = { solutionId: 'SOL-34104-EBB', name: 'Cloud Migration Factory', coSellReady: true };

export const DEMO_DEAL_NAMES = {
  dynamics: { withSolution: 'Litware — co-sell with Microsoft (Dynamics)', withoutSolution: 'Adatum — co-sell without a solution (Dynamics)' },
  salesforce: { withSolution: 'Litware — co-sell with Microsoft (Salesforce)', withoutSolution: 'Adatum — co-sell without a solution (Salesforce)' },
} as const;

type Row = Record<string, unknown>;

async function post(url: string, body: Row, method: 'POST' | 'PATCH' = 'POST'): Promise<Row> {
  const response = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`seeding the co-sell demo failed: ${method} ${url}: HTTP ${response.status} ${await response.text()}`);
  const text = await response.text();
  return text === '' ? {} : (JSON.parse(text) as Row);
}

/** The seller's steps for one co-sell deal: the deal with help asked, its solutions chosen, then Sync switched on. */
interface SellerSteps {
  create(name: string, company: string): Promise<CrmRecordRef>;
  syncOn(ref: CrmRecordRef): Promise<void>;
}

async function seedIn(crm: 'dynamics' | 'salesforce', solutions: MicrosoftSolutionsApi, seller: SellerSteps, logger: Logger): Promise<void> {
  await solutions.upsert([DEMO_SOLUTION]);
  const names = DEMO_DEAL_NAMES[crm];
  const withSolution = await seller.create(names.withSolution, `Litware ${crm}`);
  await solutions.writeDealSolutions(withSolution, [DEMO_SOLUTION.solutionId]);
  await seller.syncOn(withSolution);
  const withoutSolution = await seller.create(names.withoutSolution, `Adatum ${crm}`);
  await seller.syncOn(withoutSolution);
  logger.info({ crm, withSolution: withSolution.id, withoutSolution: withoutSolution.id }, 'seeded co-sell demo deals');
}

function dynamicsSeller(orgUrl: string): SellerSteps {
  const records = `${orgUrl}/_sandbox/records`;
  return {
    async create(name, company) {
      const account = await post(`${records}/accounts`, { name: company, address1_city: 'Redmond', address1_postalcode: '98052', address1_country: 'US' });
      const accountId = String(account.accountid);
      const contact = await post(`${records}/contacts`, { firstname: 'Pat', lastname: 'Buyer', emailaddress1: `pat.buyer@${company.replace(/[^A-Za-z]/g, '').toLowerCase()}.example.com`, 'parentcustomerid_account@odata.bind': `/accounts(${accountId})` });
      const opportunity = await post(`${records}/opportunities`, {
        name,
        estimatedvalue: 150_000,
        estimatedclosedate: '2027-06-30',
        description: `${name}: the seller asked for Microsoft's help (proof of concept).`,
        // "How can Microsoft help?" = Proof of concept or demo (the connector's picklist order, from 100000000).
        cosell_howcanmicrosofthelp: 100_000_002,
        cosell_syncwithpartnercenter: false,
        'customerid_account@odata.bind': `/accounts(${accountId})`,
        'parentaccountid@odata.bind': `/accounts(${accountId})`,
        'parentcontactid@odata.bind': `/contacts(${String(contact.contactid)})`,
      });
      return { entity: 'opportunity', id: String(opportunity.opportunityid) };
    },
    async syncOn(ref) {
      await post(`${records}/opportunities/${ref.id}`, { cosell_syncwithpartnercenter: true }, 'PATCH');
    },
  };
}

function salesforceSeller(instanceUrl: string): SellerSteps {
  const records = `${instanceUrl}/_sandbox/records`;
  return {
    async create(name, company) {
      const account = await post(`${records}/Account`, { Name: company, BillingCity: 'Seattle', BillingPostalCode: '98101', BillingCountry: 'US' });
      await post(`${records}/Contact`, { FirstName: 'Sam', LastName: 'Buyer', Email: `sam.buyer@${company.replace(/[^A-Za-z]/g, '').toLowerCase()}.example.com`, AccountId: account.Id });
      const opportunity = await post(`${records}/Opportunity`, {
        Name: name,
        Amount: 150_000,
        CloseDate: '2027-06-30',
        StageName: 'Prospecting',
        AccountId: account.Id,
        Description: `${name}: the seller asked for Microsoft's help (proof of concept).`,
        How_can_Microsoft_help__c: 'Proof of concept or demo',
        Sync_with_Partner_Center__c: false,
      });
      return { entity: 'opportunity', id: String(opportunity.Id) };
    },
    async syncOn(ref) {
      await post(`${records}/Opportunity/${ref.id}`, { Sync_with_Partner_Center__c: true }, 'PATCH');
    },
  };
}

/** Seeds the co-sell demo in every CRM the (sandbox-mode) configuration names. */
export async function seedCoSellDemoDeals(config: Config, logger: Logger): Promise<void> {
  if (config.dynamics) {
    const { createDynamicsConnector } = await import('../crm/dynamics/factory.ts');
    const connector = await createDynamicsConnector(config.dynamics, { logger });
    await seedIn('dynamics', connector.solutions, dynamicsSeller(config.dynamics.orgUrl), logger);
  }
  if (config.salesforce) {
    const { createSalesforceConnector } = await import('../crm/salesforce/index.ts');
    const connector = await createSalesforceConnector(config.salesforce, { logger });
    try {
      await seedIn('salesforce', connector.solutions, salesforceSeller(config.salesforce.instanceUrl), logger);
    } finally {
      await connector.close?.();
    }
  }
}
