import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSalesforceSetup } from '../../src/cli/setup.ts';
import type { Config } from '../../src/config/schema.ts';
import { createDynamicsConnector } from '../../src/crm/dynamics/factory.ts';
import { setupDynamics } from '../../src/crm/dynamics/provisioning.ts';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { json, sendJson, type Row } from './service-harness.ts';

/*
 * What the harnesses with both CRMs at once (DualCrmHarness, ClusterHarness) share: the Dataverse and Salesforce
 * sandboxes, their provisioning as `cosell setup dynamics` and `cosell setup salesforce` do it, and a Dynamics seller's
 * new deal.
 */

const DV_WEBHOOK_SECRET = 'dv-webhook-secret-for-both-crm-tests';

export interface CrmSandboxes {
  dv: DataverseSandbox;
  sf: SalesforceSandbox;
  /** The Dataverse webhook secret's file (the service's `dynamics.webhook.secret`). */
  dvSecretFile: string;
  close(): Promise<void>;
}

/** `streamingLongPollMs`: how long the Salesforce sandbox holds a CometD connect. The secret's file goes in `dir`. */
export async function startCrmSandboxes(dir: string, streamingLongPollMs: number): Promise<CrmSandboxes> {
  const dv = await startDataverseSandbox({ port: 0, webhookRetryDelayMs: 50 });
  const sf = await startSalesforceSandbox({ port: 0, streamingLongPollMs });
  const close = async (): Promise<void> => {
    await dv.close();
    await sf.close();
  };
  try {
    const dvSecretFile = join(dir, 'dv-webhook.secret');
    writeFileSync(dvSecretFile, `${DV_WEBHOOK_SECRET}\n`);
    return { dv, sf, dvSecretFile, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * `cosell setup dynamics` and `cosell setup salesforce` straight against the sandboxes (Dataverse at the sandbox's URL
 * whichever org URL `config` names), the CRMs' webhooks to `webhookBaseUrl`.
 */
export async function provisionCrms(config: Config, sandboxes: CrmSandboxes, webhookBaseUrl: string): Promise<void> {
  const connector = await createDynamicsConnector({ ...config.dynamics!, orgUrl: sandboxes.dv.url }, { logger: silentLogger() });
  await setupDynamics({
    connector,
    logger: silentLogger(),
    webhookUrl: `${webhookBaseUrl}/webhooks/dynamics`,
    webhookAuth: { kind: 'HttpHeader', headerName: 'x-cosell-webhook-key', secret: DV_WEBHOOK_SECRET },
  });
  await runSalesforceSetup(config, silentLogger());
}

/** A Dynamics seller's new deal (account, contact, opportunity), "Sync with Partner Center" = Yes, through the sandbox's control API. */
export async function createDynamicsDeal(dvUrl: string, deal: { name: string; company: string; value: number }): Promise<{ opportunityId: string; accountId: string }> {
  const create = (entitySet: string, body: Row): Promise<Row> => json(`${dvUrl}/_sandbox/records/${entitySet}`, sendJson('POST', body));
  const account = await create('accounts', { name: deal.company, address1_city: 'Redmond', address1_postalcode: '98052', address1_country: 'US' });
  const accountId = String(account.accountid);
  const contact = await create('contacts', {
    firstname: 'Pat',
    lastname: deal.company.replace(/[^A-Za-z]/g, '') || 'Buyer',
    emailaddress1: `pat.${deal.company.replace(/[^A-Za-z0-9]/g, '').toLowerCase()}@example.com`,
    'parentcustomerid_account@odata.bind': `/accounts(${accountId})`,
  });
  const opportunity = await create('opportunities', {
    name: deal.name,
    estimatedvalue: deal.value,
    description: `${deal.company} deal (created in Dynamics)`,
    estimatedclosedate: '2027-06-30',
    cosell_syncwithpartnercenter: true,
    'customerid_account@odata.bind': `/accounts(${accountId})`,
    'parentaccountid@odata.bind': `/accounts(${accountId})`,
    'parentcontactid@odata.bind': `/contacts(${String(contact.contactid)})`,
  });
  return { opportunityId: String(opportunity.opportunityid), accountId };
}
