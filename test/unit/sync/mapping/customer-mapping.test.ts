import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { CustomerColumns, CustomerProfile } from '../../../../src/crm/connector.ts';
import { alpha2Of, countryNameOf, isAlpha2 } from '../../../../src/crm/country/iso-3166.ts';
import { defaultMappingPath } from '../../../../src/crm/vendors.ts';
import { customerColumnsOf } from '../../../../src/sync/mapping/customer-mapping.ts';
import { validateMapping } from '../../../../src/sync/mapping/index.ts';
import { countryProblemOf, draftReferral } from '../../../../src/sync/referral-body.ts';
import { ACCOUNT, CONTACT, DATAVERSE_METADATA } from './fixtures/dataverse-metadata.ts';
import { FILE, parseSpec } from './helpers.ts';

type MappingField = Record<string, unknown> & { key: string };
type MappingDoc = { entities: Record<string, { fields: MappingField[] }> };

/** The shipped Dynamics mapping with its account country field replaced (and extra account fields appended). */
function dynamicsMapping(country: MappingField | undefined, extra: MappingField[] = []): string {
  const doc = parse(readFileSync(defaultMappingPath('dynamics'), 'utf8')) as MappingDoc;
  const account = doc.entities.account!;
  account.fields = account.fields.map((field) => (field.key === 'country' && country ? country : field));
  account.fields.push(...extra);
  return stringify(doc);
}

function columnsOf(yaml: string): CustomerColumns {
  const columns = customerColumnsOf(parseSpec(yaml));
  if (!columns) throw new Error('no account and contact sections');
  return columns;
}

const COUNTRY = 'customerProfile.address.country';
const lookupCountry: MappingField = { key: 'country', pc: COUNTRY, crm: 'cosell_countryid', transform: { type: 'lookup', entity: 'cosell_country', by: 'cosell_isocode', case: 'upper' } };
const namedCountry: MappingField = { key: 'country', pc: COUNTRY, crm: 'address1_country', transform: { type: 'countryName' } };

describe('ISO 3166 countries', () => {
  it('reads alpha-2 and alpha-3 codes and English names, short or official, as alpha-2', () => {
    expect(['us', 'USA', 'United States', 'United States of America', 'Vietnam', "cote d'ivoire", 'Germany'].map(alpha2Of)).toEqual(['US', 'US', 'US', 'US', 'VN', 'CI', 'DE']);
    expect(alpha2Of('Narnia')).toBeUndefined();
    expect(isAlpha2('XX')).toBe(false);
    expect(countryNameOf('DE')).toBe('Germany');
  });
});

describe('the account and contact sections as customer columns', () => {
  it('the shipped mapping writes the columns of its fields, the country upper-cased, and leaves empty ones out', () => {
    const columns = columnsOf(readFileSync(defaultMappingPath('dynamics'), 'utf8'));
    expect(columns.accountValues({ name: ' Contoso ', city: 'Redmond', postalCode: '98052', country: 'us', contacts: [] })).toEqual({
      name: 'Contoso',
      address1_city: 'Redmond',
      address1_postalcode: '98052',
      address1_country: 'US',
    });
    expect(columns.contactValues({ firstName: 'Pat', lastName: 'Lee', email: 'pat@contoso.example' })).toEqual({ firstname: 'Pat', lastname: 'Lee', emailaddress1: 'pat@contoso.example' });
  });

  it('a custom column with a constant is written on create', () => {
    const segment: MappingField = { key: 'segment', crm: 'cosell_segment', direction: 'to-crm', transform: { type: 'constant', value: 'Partner sourced', on: 'create' } };
    const columns = columnsOf(dynamicsMapping(undefined, [segment]));
    expect(columns.accountValues({ name: 'Contoso', contacts: [] })).toMatchObject({ name: 'Contoso', cosell_segment: 'Partner sourced' });
  });

  it('a lookup country is written as a reference to the row with that code, and read back from the code', () => {
    const columns = columnsOf(dynamicsMapping(lookupCountry));
    expect(columns.accountValues({ name: 'Contoso', country: 'de', contacts: [] }).cosell_countryid).toEqual({ kind: 'lookup', entity: 'cosell_country', by: 'cosell_isocode', value: 'DE' });
    expect(columns.account.find((c) => c.name === 'cosell_countryid')).toEqual({ name: 'cosell_countryid', lookup: { entity: 'cosell_country', by: 'cosell_isocode' } });
    const profile = columns.profile({ name: 'Contoso', address1_postalcode: '10115', cosell_countryid: 'de' }, [{ firstname: 'Pat', lastname: 'Lee', emailaddress1: 'pat@contoso.example' }]);
    expect(profile).toMatchObject({ name: 'Contoso', postalCode: '10115', country: 'DE', contacts: [{ firstName: 'Pat', lastName: 'Lee', email: 'pat@contoso.example' }] });
    expect(profile.countryProblem).toBeUndefined();
  });

  it('a lookup row whose code is no ISO country is a country problem naming the value and the setting', () => {
    const columns = columnsOf(dynamicsMapping(lookupCountry));
    const profile = columns.profile({ name: 'Atlantis', cosell_countryid: 'XX' }, []);
    expect(profile.country).toBeUndefined();
    expect(profile.countryProblem).toEqual({ value: '"XX"', setting: 'cosell_countryid (entities.account.fields[6], transform lookup)' });
  });

  it('a country name column: names in, ISO codes to Partner Center, official names written', () => {
    const columns = columnsOf(dynamicsMapping(namedCountry));
    expect(columns.accountValues({ name: 'Contoso', country: 'DE', contacts: [] }).address1_country).toBe('Germany');
    expect(columns.profile({ name: 'Contoso', address1_country: 'United States' }, []).country).toBe('US');
    const unknown = columns.profile({ name: 'Contoso', address1_country: 'Narnia' }, []);
    expect(unknown.country).toBeUndefined();
    expect(unknown.countryProblem).toEqual({ value: '"Narnia"', setting: 'address1_country (entities.account.fields[6], transform countryName)' });
  });

  it('the default text country: a name where a code is expected is a problem, an empty country is not (it is missing)', () => {
    const columns = columnsOf(readFileSync(defaultMappingPath('dynamics'), 'utf8'));
    expect(columns.profile({ name: 'Contoso', address1_country: 'United States' }, []).countryProblem).toEqual({
      value: '"United States"',
      setting: 'address1_country (entities.account.fields[6], transform string)',
    });
    expect(columns.profile({ name: 'Contoso', address1_country: null }, []).countryProblem).toBeUndefined();
  });
});

describe('a country Partner Center would refuse', () => {
  const draft = (customer: CustomerProfile) =>
    draftReferral({ crmId: 'crm-1', changes: [{ path: 'name', value: 'Deal' }], customer, assistanceRequested: false, visibleToMicrosoft: false, solutionIds: null });

  it('stops the draft with the value and the setting in the reason', () => {
    const result = draft({ name: 'Atlantis', contacts: [], countryProblem: { value: '"XX"', setting: 'cosell_countryid (entities.account.fields[6], transform lookup)' } });
    expect(result).toEqual({ problems: [{ field: 'customer.country', reason: expect.stringMatching(/^"XX" read from cosell_countryid \(entities\.account\.fields\[6\], transform lookup\) is not an ISO 3166 country/) }] });
  });

  it('names a missing country without a setting (nothing was found to read)', () => {
    expect(countryProblemOf({ name: 'Contoso', contacts: [] })).toEqual({ field: 'customer.country', reason: 'the customer country must be an ISO 3166 two-letter code (e.g. US)' });
  });

  it('sends an ISO code read through the mapping as it is', () => {
    const result = draft({ name: 'Contoso', country: 'DE', contacts: [] });
    expect('body' in result && result.body.customerProfile?.address?.country).toBe('DE');
  });
});

describe('required columns of the org', () => {
  const required = (meta: typeof ACCOUNT, column: string) => ({ ...meta, columns: { ...meta.columns, [column]: { name: column, type: 'string' as const, maxLength: 50, required: true } } });

  it('a required account column no field fills is an issue naming it; a constant for it settles it', () => {
    const metadata = { ...DATAVERSE_METADATA, account: required(ACCOUNT, 'cosell_segment') };
    const issues = validateMapping(parseSpec(readFileSync(defaultMappingPath('dynamics'), 'utf8')), metadata);
    expect(issues).toEqual([{ file: FILE, path: 'entities.account.fields', reason: expect.stringContaining('account.cosell_segment is required by the org but no field fills it') }]);
    const segment: MappingField = { key: 'segment', crm: 'cosell_segment', direction: 'to-crm', transform: { type: 'constant', value: 'Partner sourced', on: 'create' } };
    expect(validateMapping(parseSpec(dynamicsMapping(undefined, [segment])), metadata)).toEqual([]);
  });

  it('a required contact column is checked too; the account lookup the connector fills is not asked for', () => {
    const metadata = { ...DATAVERSE_METADATA, contact: { ...required(CONTACT, 'cosell_role'), columns: { ...required(CONTACT, 'cosell_role').columns, parentcustomerid: { name: 'parentcustomerid', type: 'lookup' as const, required: true } } } };
    const issues = validateMapping(parseSpec(readFileSync(defaultMappingPath('dynamics'), 'utf8')), metadata);
    expect(issues.map((i) => i.reason)).toEqual([expect.stringContaining('contact.cosell_role is required by the org')]);
  });
});
