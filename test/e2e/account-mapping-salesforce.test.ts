import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createSalesforceConnector } from '../../src/crm/salesforce/factory.ts';
import { SYNC_STATUS_VALUES } from '../../src/crm/salesforce/custom-fields.ts';
import { defaultMappingPath } from '../../src/crm/vendors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { runCli } from '../support/cli.ts';
import { json, sendJson, waitFor, writes, type Row } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { makeTempDir } from '../support/tmp.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * The mapping file's account section on Salesforce, through the sandboxes and Salesforce's own APIs: the customer's
 * country as a lookup to a custom Country object with an ISO code field (Microsoft's connector's "helper field"), and
 * a custom Account field the org requires, filled by a constant on create.
 */

type MappingField = Record<string, unknown> & { key: string };
type MappingDoc = { entities: Record<string, { fields: MappingField[] }> };

function mappingWith(options: { segment: boolean }): string {
  const doc = parse(readFileSync(defaultMappingPath('salesforce'), 'utf8')) as MappingDoc;
  const account = doc.entities.account!;
  account.fields = account.fields.map((field) =>
    field.key === 'country' ? { key: 'country', pc: 'customerProfile.address.country', crm: 'Country__c', transform: { type: 'lookup', entity: 'Country__c', by: 'IsoCode__c', case: 'upper' } } : field,
  );
  if (options.segment) account.fields.push({ key: 'segment', crm: 'Segment__c', direction: 'to-crm', transform: { type: 'constant', value: 'Partner sourced', on: 'create' } });
  return stringify(doc);
}

/** What an admin does in Setup, through the Tooling API: a Country object with an ISO code, its lookup on Account, a required field. */
async function customizeOrg(h: SalesforceSyncHarness): Promise<void> {
  const connector = await createSalesforceConnector(h.config.salesforce!, { logger: silentLogger() });
  const tooling = (kind: 'CustomObject' | 'CustomField', FullName: string, Metadata: Record<string, unknown>) =>
    connector.client.send({ method: 'POST', path: `/tooling/sobjects/${kind}`, route: `tooling/sobjects/${kind}`, body: { FullName, Metadata } });
  await tooling('CustomObject', 'Country__c', { label: 'Country', pluralLabel: 'Countries', nameField: { type: 'Text', label: 'Country Name' }, deploymentStatus: 'Deployed', sharingModel: 'ReadWrite' });
  await tooling('CustomField', 'Country__c.IsoCode__c', { label: 'ISO code', type: 'Text', length: 2 });
  await tooling('CustomField', 'Account.Country__c', { label: 'Country', type: 'Lookup', referenceTo: 'Country__c', relationshipName: 'Accounts', deleteConstraint: 'SetNull' });
  await tooling('CustomField', 'Account.Segment__c', { label: 'Segment', type: 'Text', length: 50, required: true });
  await connector.close?.();
}

describe('account mapping on Salesforce: lookup country and a required custom field', () => {
  const tmp = makeTempDir();
  const countryIds = new Map<string, string>();
  afterAll(() => tmp.cleanup()); // after the harness's close (afterAll hooks run last registered first)
  const h = suiteHarness(
    async () => {
      const mappingFile = join(tmp.path, 'salesforce-lookup-country.yaml');
      writeFileSync(mappingFile, mappingWith({ segment: true }));
      return SalesforceSyncHarness.start({ mappingFile, sync: NOTIFICATIONS_ONLY, afterSetup: customizeOrg });
    },
    {
      afterStart: async () => {
        for (const [name, code] of [['United States', 'US'], ['Germany', 'DE'], ['Atlantis', 'XX']] as const) {
          const row = await sfCreate('Country__c', { Name: name, IsoCode__c: code });
          countryIds.set(code, String(row.Id));
        }
      },
      timeoutMs: 90_000,
    },
  );

  const sfCreate = (sobject: string, body: Row): Promise<Row> => json(`${h.sf.url}/_sandbox/records/${sobject}`, sendJson('POST', body));

  const accountNamed = async (name: string): Promise<Row | undefined> => (await h.records('Account')).find((a) => a.Name === name);

  /** A seller's deal on an account whose country is a Country__c record. */
  const sellerDeal = async (company: string, countryCode: string): Promise<string> => {
    const account = await sfCreate('Account', { Name: company, BillingPostalCode: '10115', Segment__c: 'Enterprise', Country__c: countryIds.get(countryCode) });
    const accountId = String(account.Id);
    await sfCreate('Contact', { FirstName: 'Pat', LastName: company.replace(/[^A-Za-z]/g, ''), Email: `pat@${company.replace(/[^A-Za-z]/g, '').toLowerCase()}.example`, AccountId: accountId });
    const opportunity = await sfCreate('Opportunity', { Name: `${company} deal`, AccountId: accountId, StageName: 'Qualification', CloseDate: '2027-06-30', Amount: 50_000, Sync_with_Partner_Center__c: true });
    return String(opportunity.Id);
  };

  it('a referral from Partner Center creates the account with its country as the Country__c record of that ISO code and the required field at its default', async () => {
    const referral = await h.incomingReferral({ name: 'Lookup country inbound', customerProfile: { name: 'Munich Lookup GmbH', address: { city: 'Munich', postalCode: '80331', country: 'DE' } } });
    await waitFor('the opportunity for the referral', () => h.opportunityFor(referral.id));
    await h.waitForIdle();
    const account = await accountNamed('Munich Lookup GmbH');
    expect(account).toMatchObject({ Country__c: countryIds.get('DE'), Segment__c: 'Partner sourced', BillingCity: 'Munich' });
    expect(account?.BillingCountry ?? null).toBeNull();
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a backfill creates its accounts in bulk with the same fields: lookup country and the required field', async () => {
    await json(`${h.pc.url}/_sandbox/referrals/seed`, sendJson('POST', { count: 2, events: false, overrides: { customerProfile: { name: 'Backfill Lookup KG', address: { city: 'Hamburg', postalCode: '20095', country: 'DE' } } } }));
    await h.engine.reconciler.runOnce({ since: '2000-01-01T00:00:00Z' });
    // Created through the bulk API, not by one job per referral.
    expect((await h.status()).reconcile?.backfilled).toBeGreaterThanOrEqual(2);
    await h.waitForIdle();
    const accounts = (await h.records('Account')).filter((a) => a.Name === 'Backfill Lookup KG');
    expect(accounts).toEqual([expect.objectContaining({ Country__c: countryIds.get('DE'), Segment__c: 'Partner sourced', BillingCity: 'Hamburg' })]);
  });

  // France has no Country__c record: created without the country, and said so with the field, object and code.
  const franceGap = 'Country__c left empty: no Country__c row has IsoCode__c = "FR"';

  it('a referral whose ISO code no Country__c record holds: the account is created without it, and the audit and Sync Audit say so', async () => {
    const referral = await h.incomingReferral({ name: 'Lookup country missing', customerProfile: { name: 'Paris Lookup SARL', address: { city: 'Paris', postalCode: '75001', country: 'FR' } } });
    const opportunity = await waitFor('the opportunity for the referral', () => h.opportunityFor(referral.id));
    await h.waitForIdle();
    expect(await accountNamed('Paris Lookup SARL')).toMatchObject({ Country__c: null, Segment__c: 'Partner sourced', BillingCity: 'Paris' });
    expect((await h.audit({ referralId: referral.id })).map((entry) => entry.message)).toContain(`customer account created; ${franceGap}`);
    expect(String((await h.opportunity(String(opportunity.Id)))?.Audit__c)).toContain(`customer account: ${franceGap}`);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a backfill says the same of the accounts it creates in bulk without their country', async () => {
    await json(`${h.pc.url}/_sandbox/referrals/seed`, sendJson('POST', { count: 2, events: false, overrides: { customerProfile: { name: 'Lyon Lookup SA', address: { city: 'Lyon', postalCode: '69001', country: 'FR' } } } }));
    await h.engine.reconciler.runOnce({ since: '2000-01-01T00:00:00Z' });
    await h.waitForIdle();
    const accounts = (await h.records('Account')).filter((a) => a.Name === 'Lyon Lookup SA');
    expect(accounts).toEqual([expect.objectContaining({ Country__c: null, Segment__c: 'Partner sourced' })]);
    // One account for both referrals: the referral whose batch created it reports it, in the audit and on its opportunity.
    expect((await h.audit()).filter((entry) => entry.message === `customer account created; ${franceGap}` && entry.crmId === accounts[0]?.Id)).toHaveLength(1);
    const ofAccount = (await h.records('Opportunity')).filter((o) => o.AccountId === accounts[0]?.Id);
    expect(ofAccount).toHaveLength(2);
    expect(ofAccount.filter((o) => String(o.Audit__c ?? '').includes(`customer account: ${franceGap}`))).toHaveLength(1);
  });

  it('a CRM deal whose account has a lookup country reaches Partner Center with the ISO code', async () => {
    const opportunityId = await sellerDeal('Lookup Outbound Inc', 'DE');
    const opportunity = await waitFor('the referral id on the opportunity', async () => {
      const o = await h.opportunity(opportunityId);
      return typeof o?.Referral_Identifier__c === 'string' && o.Referral_Identifier__c !== '' ? o : undefined;
    });
    const referral = await h.referral(String(opportunity.Referral_Identifier__c));
    expect(referral).toMatchObject({ customerProfile: { name: 'Lookup Outbound Inc', address: { country: 'DE', postalCode: '10115' } } });
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a Country__c record whose code is no ISO country: ✖ and an Audit line naming the value and the setting; Partner Center receives nothing', async () => {
    await h.waitForIdle();
    const pcWritesBefore = writes((await h.pcRequests()).routes);
    const opportunityId = await sellerDeal('Atlantis Shipping', 'XX');
    const flagged = await waitFor('the ✖ status on the opportunity', async () => {
      const o = await h.opportunity(opportunityId);
      return o?.Sync_Status__c === SYNC_STATUS_VALUES.failed ? o : undefined;
    });
    await h.waitForIdle();
    expect(String(flagged.Audit__c)).toContain('customer.country: "XX" read from Country__c (entities.account.fields[');
    const failures = (await h.audit({ crmId: opportunityId })).filter((e) => e.outcome === 'failed' && e.direction === 'to-pc');
    expect(failures.map((f) => f.message)).toEqual([expect.stringMatching(/customer\.country: "XX" read from Country__c .*transform lookup.* is not an ISO 3166 country/)]);
    expect(await h.referralsForCrmId(opportunityId)).toEqual([]);
    expect(writes((await h.pcRequests()).routes)).toBe(pcWritesBefore);
  });

  it('cosell mapping check passes with the segment filled and names the required field when the mapping leaves it out', async () => {
    const configFile = join(tmp.path, 'cosell.yaml');
    writeFileSync(configFile, stringify(h.configInput));
    const ok = await runCli(['mapping', 'check', '--config', configFile]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/✔ salesforce: .* is valid/);

    const withoutSegment = join(tmp.path, 'without-segment.yaml');
    writeFileSync(withoutSegment, mappingWith({ segment: false }));
    const brokenConfig = join(tmp.path, 'cosell-without-segment.yaml');
    writeFileSync(brokenConfig, stringify({ ...h.configInput, mappings: { salesforce: withoutSegment } }));
    const missing = await runCli(['mapping', 'check', '--config', brokenConfig]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('entities.account.fields');
    expect(missing.stderr).toContain('Account.Segment__c is required by the org but no field fills it');
  }, 60_000);
});
