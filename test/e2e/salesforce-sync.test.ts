import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSalesforceSetup } from '../../src/cli/setup.ts';
import { parseConfig } from '../../src/config/load.ts';
import { partnerCenterClients, type PartnerCenterClients } from '../../src/partner-center/from-config.ts';
import { REFERRAL_EVENT_NAMES } from '../../src/partner-center/webhook-event.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { makeTempDir } from '../support/tmp.ts';
import { adminJson, json, waitFor } from '../support/service-harness.ts';
import { testAdminConfig } from '../support/admin.ts';

type Row = Record<string, unknown>;

/** Salesforce through the same engine: Partner Center webhooks in, CDC from Salesforce, writes through jsforce. */
describe('two-way sync with Salesforce (sandboxes)', () => {
  const tmp = makeTempDir();
  let pc: PartnerCenterSandbox;
  let sf: SalesforceSandbox;
  let service: RunningService;
  let clients: PartnerCenterClients;

  const opportunities = async (): Promise<Row[]> => {
    const body = await json<{ records?: Row[]; value?: Row[] }>(`${sf.url}/_sandbox/records/Opportunity`);
    return body.records ?? body.value ?? [];
  };
  const opportunityFor = async (referralId: string) => (await opportunities()).find((o) => o.Referral_Identifier__c === referralId);

  beforeAll(async () => {
    pc = await startPartnerCenterSandbox({ port: 0, delivery: { initialDelayMs: 50, maxDelayMs: 200 } });
    sf = await startSalesforceSandbox({ port: 0 });
    const anchor = join(tmp.path, 'root.pem');
    writeFileSync(anchor, pc.rootCertificatePem);
    const pcHost = new URL(pc.url).host;
    const config = parseConfig('test', {
      server: { host: '127.0.0.1', port: 0 },
      admin: testAdminConfig(),
      store: { path: join(tmp.path, 'cosell.db') },
      log: { level: 'silent' },
      sync: { reconcileIntervalSeconds: 3600 },
      partnerCenter: {
        referralsApiUrl: pc.url,
        webhooksApiUrl: pc.url,
        webhooks: { certificateHosts: [pcHost], insecureHttpHosts: [pcHost], trustAnchors: [anchor] },
      },
      salesforce: { instanceUrl: sf.url, mode: 'sandbox', notifications: 'cdc', organizationId: sf.organizationId },
    });
    const setup = await runSalesforceSetup(config, silentLogger());
    expect(setup.created.some((item) => item.includes('Opportunity.Referral_Identifier__c'))).toBe(true);
    service = await startService(config, silentLogger());
    clients = await partnerCenterClients(config.partnerCenter);
    await clients.webhooks.register({ webhookUrl: `${service.url}/webhooks/partner-center`, webhookEvents: [...REFERRAL_EVENT_NAMES] });
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await pc?.close();
    await sf?.close();
    tmp.cleanup();
  });

  let referralId = '';

  it('a referral shared by Microsoft becomes a Salesforce opportunity, in the on-hold stage until accepted', async () => {
    const created = await json<{ id: string }>(`${pc.url}/_sandbox/referrals/incoming`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Tailspin data platform',
        details: { dealValue: 80000, currency: 'USD', notes: 'Needs a partner for the migration' },
        customerProfile: { name: 'Tailspin Toys', address: { postalCode: '10001', city: 'New York', country: 'US' } },
      }),
    });
    referralId = created.id;
    const opportunity = await waitFor('Salesforce opportunity', () => opportunityFor(referralId));
    expect(opportunity.Amount).toBe(80000);
    expect(opportunity.Description).toBe('Needs a partner for the migration');
    expect(opportunity.Sync_with_Partner_Center__c).toBe(true);
    expect(String(opportunity.Name)).toMatch(/^Tailspin data platform ✔$/);
    expect(opportunity.StageName).toBe('Prospecting');
    const accounts = (await json<{ records?: Row[]; value?: Row[] }>(`${sf.url}/_sandbox/records/Account`));
    const account = (accounts.records ?? accounts.value ?? []).find((a) => a.Name === 'Tailspin Toys');
    expect(account?.BillingPostalCode).toBe('10001');
    expect(opportunity.AccountId).toBe(account?.Id);
  });

  it('an edit while the deal is on hold (not accepted yet) waits, as in Microsoft\'s connector', async () => {
    const opportunity = (await opportunityFor(referralId))!;
    await json(`${sf.url}/_sandbox/records/Opportunity/${String(opportunity.Id)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Amount: 81000 }),
    });
    const held = await waitFor('the held edit in the audit', async () => {
      const { entries } = await adminJson<{ entries: Array<{ field: string | null; outcome: string; newValue: unknown; message: string | null }> }>(
        `${service.adminUrl}/api/audit?referralId=${referralId}`,
      );
      return entries.find((e) => e.field === 'dealValue' && e.outcome === 'skipped');
    });
    expect(held).toMatchObject({ newValue: 81000 });
    expect(held.message).toContain('on hold');
    await service.engine!.worker.drain();
    const referral = (await clients.referrals.get(referralId)).referral;
    expect(referral.details?.dealValue).toBe(80000);
    expect(referral.status).toBe('New');
  });

  it('a seller moving the deal out of on-hold and editing it in Salesforce reaches Partner Center through CDC, with what waited', async () => {
    const opportunity = (await opportunityFor(referralId))!;
    await json(`${sf.url}/_sandbox/records/Opportunity/${String(opportunity.Id)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Description: 'Kick-off booked', StageName: 'Qualification' }),
    });
    const referral = await waitFor('referral updated and accepted', async () => {
      const r = (await clients.referrals.get(referralId)).referral;
      return r.details?.notes === 'Kick-off booked' && r.status === 'Active' ? r : undefined;
    });
    expect(referral.substatus).toBe('Accepted');
    expect(referral.details?.dealValue).toBe(81000);
  });

  it('a change in Partner Center updates Salesforce and the echo costs no Salesforce write', async () => {
    await service.engine!.worker.drain();
    await new Promise((r) => setTimeout(r, 500));
    await service.engine!.worker.drain();
    await fetch(`${sf.url}/_sandbox/requests`, { method: 'DELETE' });
    await json(`${pc.url}/_sandbox/referrals/${referralId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ details: { dealValue: 95000 } }),
    });
    await waitFor('Amount updated', async () => (await opportunityFor(referralId))?.Amount === 95000);
    await new Promise((r) => setTimeout(r, 800));
    await service.engine!.worker.drain();
    const counts = await json<{ routes: Record<string, number> }>(`${sf.url}/_sandbox/requests`);
    const writes = Object.entries(counts.routes)
      .filter(([route]) => /^(PATCH|DELETE) \/services|^POST \/services\/data\/:version\/(sobjects|composite)/.test(route))
      .reduce((sum, [, n]) => sum + n, 0);
    expect(writes).toBe(1);
    const status = await adminJson<{ deadLetters: number }>(`${service.adminUrl}/api/status`);
    expect(status.deadLetters).toBe(0);
  });
});
