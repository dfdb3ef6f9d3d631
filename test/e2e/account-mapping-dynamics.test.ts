import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { defaultMappingPath } from '../../src/crm/vendors.ts';
import type { DynamicsConnector } from '../../src/crm/dynamics/dynamics-connector.ts';
import { runCli } from '../support/cli.ts';
import { json, sendJson, waitFor, writes, type Row } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { makeTempDir } from '../support/tmp.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * The mapping file's account section on Dynamics, through the sandboxes and Dataverse's own API: the customer's country
 * as a lookup to a custom country table (Microsoft's connector's "helper field"), and a custom column the org requires,
 * filled by a constant on create.
 */

const SYNC_FAILED = 100_000_001;

const label = (text: string) => ({
  '@odata.type': 'Microsoft.Dynamics.CRM.Label',
  LocalizedLabels: [{ '@odata.type': 'Microsoft.Dynamics.CRM.LocalizedLabel', Label: text, LanguageCode: 1033 }],
});

type MappingField = Record<string, unknown> & { key: string };
type MappingDoc = { entities: Record<string, { fields: MappingField[] }> };

/** The shipped mapping with the account's country as a lookup, plus the org's required segment column when asked. */
function mappingWith(options: { segment: boolean }): string {
  const doc = parse(readFileSync(defaultMappingPath('dynamics'), 'utf8')) as MappingDoc;
  const account = doc.entities.account!;
  account.fields = account.fields.map((field) =>
    field.key === 'country' ? { key: 'country', pc: 'customerProfile.address.country', crm: 'cosell_countryid', transform: { type: 'lookup', entity: 'cosell_country', by: 'cosell_isocode', case: 'upper' } } : field,
  );
  if (options.segment) account.fields.push({ key: 'segment', crm: 'cosell_segment', direction: 'to-crm', transform: { type: 'constant', value: 'Partner sourced', on: 'create' } });
  return stringify(doc);
}

/** What a customizer does in the maker portal: a country table with an ISO code column, its lookup on account, a required column. */
async function customizeOrg(connector: DynamicsConnector, orgUrl: string): Promise<void> {
  const api = connector.client.api;
  await api.createEntity({
    data: {
      '@odata.type': 'Microsoft.Dynamics.CRM.EntityMetadata',
      SchemaName: 'cosell_Country',
      DisplayName: label('Country'),
      DisplayCollectionName: label('Countries'),
      OwnershipType: 'OrganizationOwned',
      IsActivity: false,
      HasActivities: false,
      HasNotes: false,
      Attributes: [{ '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata', SchemaName: 'cosell_Name', IsPrimaryName: true, DisplayName: label('Name'), RequiredLevel: { Value: 'ApplicationRequired' }, MaxLength: 100 }],
    },
  });
  await api.createAttribute({
    entityKey: "LogicalName='cosell_country'",
    data: { '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata', SchemaName: 'cosell_IsoCode', DisplayName: label('ISO code'), RequiredLevel: { Value: 'None' }, MaxLength: 2 },
  });
  await api.createAttribute({
    entityKey: "LogicalName='account'",
    data: { '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata', SchemaName: 'cosell_Segment', DisplayName: label('Segment'), RequiredLevel: { Value: 'ApplicationRequired' }, MaxLength: 50 },
  });
  await json(`${orgUrl}/_sandbox/lookup-columns`, sendJson('POST', { table: 'account', schemaName: 'cosell_CountryId', target: 'cosell_country', display: 'Country' }));
}

describe('account mapping on Dynamics: lookup country and a required custom column', () => {
  const tmp = makeTempDir();
  const countryIds = new Map<string, string>();
  afterAll(() => tmp.cleanup()); // after the harness's close (afterAll hooks run last registered first)
  const h = suiteHarness(
    async () => {
      const mappingFile = join(tmp.path, 'dynamics-lookup-country.yaml');
      writeFileSync(mappingFile, mappingWith({ segment: true }));
      let sandboxUrl = '';
      return SyncHarness.start({
        mappingFile,
        sync: NOTIFICATIONS_ONLY,
        serviceOrgUrl: (url) => {
          sandboxUrl = url;
          return url;
        },
        afterSetup: (connector) => customizeOrg(connector, sandboxUrl),
      });
    },
    {
      afterStart: async () => {
        for (const [name, code] of [['United States', 'US'], ['Germany', 'DE'], ['Atlantis', 'XX']] as const) {
          const row = await h.dvCreate('cosell_countries', { cosell_name: name, cosell_isocode: code });
          countryIds.set(code, String(row.cosell_countryid));
        }
      },
      timeoutMs: 90_000,
    },
  );

  const accountNamed = async (name: string): Promise<Row | undefined> => (await h.records('accounts')).find((a) => a.name === name);

  /** A seller's deal on an account whose country is a row of the country table. */
  const sellerDeal = async (company: string, countryCode: string): Promise<string> => {
    const account = await h.dvCreate('accounts', {
      name: company,
      address1_postalcode: '10115',
      cosell_segment: 'Enterprise',
      'cosell_CountryId@odata.bind': `/cosell_countries(${countryIds.get(countryCode)})`,
    });
    const accountId = String(account.accountid);
    const contact = await h.dvCreate('contacts', { firstname: 'Pat', lastname: company.replace(/[^A-Za-z]/g, ''), emailaddress1: `pat@${company.replace(/[^A-Za-z]/g, '').toLowerCase()}.example`, 'parentcustomerid_account@odata.bind': `/accounts(${accountId})` });
    const opportunity = await h.dvCreate('opportunities', {
      name: `${company} deal`,
      estimatedvalue: 50_000,
      estimatedclosedate: '2027-06-30',
      cosell_syncwithpartnercenter: true,
      'customerid_account@odata.bind': `/accounts(${accountId})`,
      'parentaccountid@odata.bind': `/accounts(${accountId})`,
      'parentcontactid@odata.bind': `/contacts(${String(contact.contactid)})`,
    });
    return String(opportunity.opportunityid);
  };

  it('a referral from Partner Center creates the account with its country as the lookup row of that ISO code and the required column at its default', async () => {
    const referral = await h.incomingReferral({ name: 'Lookup country inbound', customerProfile: { name: 'Berlin Lookup GmbH', address: { city: 'Berlin', postalCode: '10117', country: 'DE' } } });
    const second = await h.incomingReferral({ name: 'Lookup country inbound 2', customerProfile: { name: 'Bonn Lookup GmbH', address: { city: 'Bonn', postalCode: '53111', country: 'DE' } } });
    await waitFor('the opportunities for the referrals', async () => (await h.opportunityFor(referral.id)) && h.opportunityFor(second.id));
    await h.waitForIdle();
    expect((await accountNamed('Bonn Lookup GmbH'))?._cosell_countryid_value).toBe(countryIds.get('DE'));
    const account = await accountNamed('Berlin Lookup GmbH');
    expect(account).toMatchObject({ _cosell_countryid_value: countryIds.get('DE'), cosell_segment: 'Partner sourced', address1_city: 'Berlin' });
    // The country lives in the lookup only: the mapping no longer names address1_country.
    expect(account?.address1_country ?? null).toBeNull();
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a backfill creates its accounts in bulk with the same columns: lookup country and the required column', async () => {
    await json(`${h.pc.url}/_sandbox/referrals/seed`, sendJson('POST', { count: 2, events: false, overrides: { customerProfile: { name: 'Backfill Lookup AG', address: { city: 'Hamburg', postalCode: '20095', country: 'DE' } } } }));
    await h.engine.reconciler.runOnce({ since: '2000-01-01T00:00:00Z' });
    // Created through the bulk API, not by one job per referral.
    expect((await h.status()).reconcile?.backfilled).toBeGreaterThanOrEqual(2);
    await h.waitForIdle();
    const accounts = (await h.records('accounts')).filter((a) => a.name === 'Backfill Lookup AG');
    expect(accounts).toEqual([expect.objectContaining({ _cosell_countryid_value: countryIds.get('DE'), cosell_segment: 'Partner sourced', address1_city: 'Hamburg' })]);
  });

  // France has no row in the country table: created without the country, and said so with the column, table and code.
  const franceGap = 'cosell_countryid left empty: no cosell_country row has cosell_isocode = "FR"';

  it('a referral whose ISO code the country table lacks: the account is created without it, and the audit and Sync Audit say so', async () => {
    const referral = await h.incomingReferral({ name: 'Lookup country missing', customerProfile: { name: 'Paris Lookup SARL', address: { city: 'Paris', postalCode: '75001', country: 'FR' } } });
    const opportunity = await waitFor('the opportunity for the referral', () => h.opportunityFor(referral.id));
    await h.waitForIdle();
    expect(await accountNamed('Paris Lookup SARL')).toMatchObject({ _cosell_countryid_value: null, cosell_segment: 'Partner sourced', address1_city: 'Paris' });
    expect((await h.audit({ referralId: referral.id })).map((entry) => entry.message)).toContain(`customer account created; ${franceGap}`);
    expect(String((await h.opportunity(String(opportunity.opportunityid)))?.cosell_audit)).toContain(`customer account: ${franceGap}`);
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a backfill says the same of the accounts it creates in bulk without their country', async () => {
    await json(`${h.pc.url}/_sandbox/referrals/seed`, sendJson('POST', { count: 2, events: false, overrides: { customerProfile: { name: 'Lyon Lookup SA', address: { city: 'Lyon', postalCode: '69001', country: 'FR' } } } }));
    await h.engine.reconciler.runOnce({ since: '2000-01-01T00:00:00Z' });
    await h.waitForIdle();
    const accounts = (await h.records('accounts')).filter((a) => a.name === 'Lyon Lookup SA');
    expect(accounts).toEqual([expect.objectContaining({ _cosell_countryid_value: null, cosell_segment: 'Partner sourced' })]);
    // One account for both referrals: the referral whose batch created it reports it, in the audit and on its opportunity.
    expect((await h.audit()).filter((entry) => entry.message === `customer account created; ${franceGap}` && entry.crmId === accounts[0]?.accountid)).toHaveLength(1);
    const ofAccount = (await h.records('opportunities')).filter((o) => (o._parentaccountid_value ?? o._customerid_value) === accounts[0]?.accountid);
    expect(ofAccount).toHaveLength(2);
    expect(ofAccount.filter((o) => String(o.cosell_audit ?? '').includes(`customer account: ${franceGap}`))).toHaveLength(1);
  });

  it('a CRM deal whose account has a lookup country reaches Partner Center with the ISO code', async () => {
    const opportunityId = await sellerDeal('Lookup Outbound Corp', 'DE');
    const opportunity = await waitFor('the referral id on the opportunity', async () => {
      const o = await h.opportunity(opportunityId);
      return typeof o?.cosell_referralidentifier === 'string' && o.cosell_referralidentifier !== '' ? o : undefined;
    });
    const referral = await h.referral(String(opportunity.cosell_referralidentifier));
    expect(referral).toMatchObject({ customerProfile: { name: 'Lookup Outbound Corp', address: { country: 'DE', postalCode: '10115' } } });
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });

  it('a country row whose code is no ISO country: ✖ and an Audit line naming the value and the setting; Partner Center receives nothing', async () => {
    await h.waitForIdle();
    const pcWritesBefore = writes((await h.pcRequests()).routes);
    const opportunityId = await sellerDeal('Atlantis Trading', 'XX');
    const flagged = await waitFor('the ✖ status on the opportunity', async () => {
      const o = await h.opportunity(opportunityId);
      return o?.cosell_syncstatus === SYNC_FAILED ? o : undefined;
    });
    await h.waitForIdle();
    expect(String(flagged.name)).toMatch(/ ✖$/);
    expect(String(flagged.cosell_audit)).toContain('customer.country: "XX" read from cosell_countryid (entities.account.fields[');
    const failures = (await h.audit({ crmId: opportunityId })).filter((e) => e.outcome === 'failed' && e.direction === 'to-pc');
    expect(failures.map((f) => f.message)).toEqual([expect.stringMatching(/customer\.country: "XX" read from cosell_countryid .*transform lookup.* is not an ISO 3166 country/)]);
    expect(await h.referralsForCrmId(opportunityId)).toEqual([]);
    expect(writes((await h.pcRequests()).routes)).toBe(pcWritesBefore);
  });

  it('cosell mapping check passes with the segment filled and names the required column when the mapping leaves it out', async () => {
    const configFile = join(tmp.path, 'cosell.yaml');
    writeFileSync(configFile, stringify({ ...h.configInput, server: { ...h.configInput.server, port: 0 } }));
    const ok = await runCli(['mapping', 'check', '--config', configFile]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/✔ dynamics: .* is valid/);

    const withoutSegment = join(tmp.path, 'without-segment.yaml');
    writeFileSync(withoutSegment, mappingWith({ segment: false }));
    const brokenConfig = join(tmp.path, 'cosell-without-segment.yaml');
    writeFileSync(brokenConfig, stringify({ ...h.configInput, mappings: { dynamics: withoutSegment } }));
    const missing = await runCli(['mapping', 'check', '--config', brokenConfig]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('entities.account.fields');
    expect(missing.stderr).toContain('account.cosell_segment is required by the org but no field fills it');
  }, 60_000);
});
