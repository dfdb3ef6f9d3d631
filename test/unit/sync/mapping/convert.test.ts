import { beforeAll, describe, expect, it } from 'vitest';
import { referralSchema, type Referral } from '../../../../src/partner-center/model.ts';
import { canonicalToCrm, canonicalToReferralChanges, crmColumnsToRead, crmToCanonical, flowsToPc, loadMappingFile, referralToCanonical, type ConversionIssue, type EntitySpec, type MappingSpec } from '../../../../src/sync/mapping/index.ts';
import { DOC_CREATE_RESPONSE_JSON } from '../../partner-center/doc-samples.ts';
import { applyStrictPatch, referral } from './helpers.ts';
import type { CanonicalRecord } from '../../../../src/canonical-value.ts';
import { defaultMappingPath } from '../../../../src/crm/vendors.ts';

let spec: MappingSpec;
const DOC: Referral = referralSchema.parse(JSON.parse(DOC_CREATE_RESPONSE_JSON));

function entity(name: 'opportunity' | 'lead' | 'account' | 'contact'): EntitySpec {
  const mapping = spec.entities[name];
  if (!mapping) throw new Error(`no ${name}`);
  return mapping;
}

beforeAll(async () => {
  spec = await loadMappingFile(defaultMappingPath('dynamics'), 'dynamics');
});

describe('default mapping: referral → canonical → CRM', () => {
  it('reads the documented referral into the canonical opportunity', () => {
    const canonical = referralToCanonical(entity('opportunity'), DOC, { microsoftReferral: null });
    expect(canonical).toEqual({
      name: 'Test Cosell Invite_20',
      dealValue: 50000,
      currency: 'USD',
      closingDate: null,
      notes: DOC.details?.notes,
      status: 'Active/Accepted',
      syncWithPartnerCenter: true,
      referralId: '4111fffc-f9ee-4d53-bba6-569135228642',
      referralLink: 'https://partner.microsoft.com/dashboard/v2/referrals/4111fffc-f9ee-4d53-bba6-569135228642',
      howCanMicrosoftHelp: null,
      referralVisibility: false,
      microsoftCrmId: null,
      microsoftSellerName: null,
      microsoftSellerEmail: null,
      microsoftStatus: null,
      salesStage: null,
    });
  });

  it('turns it into Dataverse column values', () => {
    const canonical = referralToCanonical(entity('opportunity'), DOC, { microsoftReferral: null });
    expect(canonicalToCrm(entity('opportunity'), canonical)).toEqual({
      name: 'Test Cosell Invite_20',
      estimatedvalue: 50000,
      transactioncurrencyid: { kind: 'lookup', entity: 'transactioncurrency', by: 'isocurrencycode', value: 'USD' },
      estimatedclosedate: null,
      description: DOC.details?.notes,
      '@state': 'open',
      cosell_syncwithpartnercenter: true,
      cosell_referralidentifier: '4111fffc-f9ee-4d53-bba6-569135228642',
      cosell_referrallink: 'https://partner.microsoft.com/dashboard/v2/referrals/4111fffc-f9ee-4d53-bba6-569135228642',
      cosell_howcanmicrosofthelp: null,
      cosell_referralvisibility: false,
      cosell_microsoftcrmidentifier: null,
      cosell_microsoftsellername: null,
      cosell_microsoftselleremail: null,
      cosell_microsoftstatus: null,
      salesstage: null,
    });
  });

  it("maps Partner Center's sales stages to the opportunity's Sales Stage, every spelling of a stage as one", () => {
    const opportunity = entity('opportunity');
    const stageOf = (salesStage: string) => referralToCanonical(opportunity, referral({ ...DOC, salesStage }), { microsoftReferral: null }).salesStage;
    const toCrm = (salesStage: string) => canonicalToCrm(opportunity, { salesStage: stageOf(salesStage) ?? null }).salesstage;
    expect(['Created', 'Accepted', 'Qualified', 'Developed', 'Proposed', 'Negotiated'].map(toCrm)).toEqual([0, 0, 0, 1, 2, 3]);
    expect(['10', '20', '40', '60', '80'].map(toCrm)).toEqual([0, 0, 1, 2, 3]);
    expect(['Qualify', 'Develop', 'Propose', 'Close'].map(toCrm)).toEqual([0, 1, 2, 3]);
    // Won is the status's business: it reads as the last open stage, so a won deal at Close shows no stage change.
    expect(stageOf('Won')).toBe(stageOf('Negotiated'));
    expect(stageOf('100')).toBe(stageOf('Close'));
    // Toward Partner Center a Dynamics stage is written as the UI's stage name.
    const written = [0, 1, 2, 3].map((salesstage) => canonicalToReferralChanges(opportunity, { salesStage: crmToCanonical(opportunity, { salesstage }).salesStage ?? null }));
    expect(written.map((changes) => changes.map((c) => ({ path: c.path, value: c.value })))).toEqual(
      ['Qualified', 'Developed', 'Proposed', 'Negotiated'].map((value) => [{ path: ['salesStage'], value }]),
    );
  });

  it('reads back what it wrote as the same canonical record, for every entity (no echo diff)', () => {
    const cases: Array<[EntitySpec, CanonicalRecord]> = [
      [entity('opportunity'), referralToCanonical(entity('opportunity'), DOC, { microsoftReferral: referral({ status: 'Closed', substatus: 'Won' }) })],
      [entity('lead'), referralToCanonical(entity('lead'), referral({ ...DOC, status: 'New', substatus: 'Received' }))],
      [entity('account'), referralToCanonical(entity('account'), DOC)],
      [entity('contact'), referralToCanonical(entity('contact'), DOC, { item: 1 })],
    ];
    for (const [mapping, canonical] of cases) {
      // The connector reads a lookup back as the code.
      const written = canonicalToCrm(mapping, canonical);
      const asRead = Object.fromEntries(Object.entries(written).map(([k, v]) => [k, typeof v === 'object' && v !== null && 'value' in v ? v.value : v]));
      expect(crmToCanonical(mapping, asRead), mapping.entity).toEqual(canonical);
      expect(Object.keys(canonical)).toHaveLength(mapping.fields.length);
    }
  });

  it('writes every PC-bound field into a bare referral so that it reads back equal (ops valid under RFC 6902)', () => {
    for (const name of ['opportunity', 'lead', 'account'] as const) {
      const mapping = entity(name);
      const source = referralToCanonical(mapping, DOC, { microsoftReferral: null });
      const pcBound = Object.fromEntries(mapping.fields.filter((f) => flowsToPc(f.direction)).map((f) => [f.key, source[f.key] ?? null]));
      const bare = referral({});
      const patched = applyStrictPatch(bare, canonicalToReferralChanges(mapping, pcBound, { current: bare }));
      const reread = referralToCanonical(mapping, referralSchema.parse(patched), { microsoftReferral: null });
      for (const key of Object.keys(pcBound)) expect(reread[key], `${name}.${key}`).toEqual(pcBound[key]);
    }
  });

  it('shows Microsoft\'s status only when its referral was read', () => {
    const issues: ConversionIssue[] = [];
    const unread = referralToCanonical(entity('opportunity'), DOC, { onIssue: (i) => issues.push(i) });
    expect('microsoftStatus' in unread).toBe(false);
    expect(issues).toEqual(
      ['microsoftSellerName', 'microsoftSellerEmail', 'microsoftStatus'].map((key) => ({ key, side: 'pc', reason: "Microsoft's referral was not read" })),
    );
    const read = referralToCanonical(entity('opportunity'), DOC, { microsoftReferral: referral({ status: 'Active', substatus: 'Accepted' }) });
    expect(read.microsoftStatus).toBe('Active/Accepted');
    expect(canonicalToCrm(entity('opportunity'), { microsoftStatus: read.microsoftStatus ?? null })).toEqual({ cosell_microsoftstatus: 'Accepted' });
  });

  it('lists the columns the connector must read, lookups through their code column', () => {
    const columns = crmColumnsToRead(entity('lead'));
    expect(columns).toContainEqual({ name: 'transactioncurrencyid', lookup: { entity: 'transactioncurrency', by: 'isocurrencycode' } });
    expect(columns).toContainEqual({ name: '@state' });
    expect(columns.map((c) => c.name)).toHaveLength(entity('lead').fields.length);
  });

  it('leaves out fields whose column the connector did not read', () => {
    const issues: ConversionIssue[] = [];
    const record = crmToCanonical(entity('account'), { name: 'Contoso' }, { onIssue: (i) => issues.push(i) });
    expect(record).toEqual({ name: 'Contoso' });
    expect(issues[0]).toEqual({ key: 'addressLine1', side: 'crm', reason: 'column address1_line1 was not read' });
  });
});

describe('canonicalToReferralChanges', () => {
  const changes = { dealValue: 1000, notes: 'Updated' };

  it('replaces members that exist and adds those that do not', () => {
    const current = referral({ details: { dealValue: 5 } });
    expect(canonicalToReferralChanges(entity('opportunity'), changes, { current })).toEqual([
      { path: ['details', 'dealValue'], value: 1000, op: 'replace' },
      { path: ['details', 'notes'], value: 'Updated', op: 'add' },
    ]);
  });

  it('creates a missing parent once, carrying every change under it', () => {
    const current = referral({});
    expect(canonicalToReferralChanges(entity('opportunity'), changes, { current })).toEqual([{ path: ['details'], value: { dealValue: 1000, notes: 'Updated' }, op: 'add' }]);
    const nullDetails = referral({ details: null });
    expect(canonicalToReferralChanges(entity('opportunity'), changes, { current: nullDetails })).toEqual([
      { path: ['details'], value: { dealValue: 1000, notes: 'Updated' }, op: 'replace' },
    ]);
  });

  it('uses replace, the documented op, when the current referral is not given', () => {
    expect(canonicalToReferralChanges(entity('opportunity'), { status: 'Closed/Won' })).toEqual([
      { path: ['status'], value: 'Closed', op: 'replace' },
      { path: ['substatus'], value: 'Won', op: 'replace' },
    ]);
  });

  it('never writes to-crm fields and reports unknown keys', () => {
    const issues: ConversionIssue[] = [];
    const out = canonicalToReferralChanges(entity('opportunity'), { referralId: 'x', bogus: 1 }, { onIssue: (i) => issues.push(i) });
    expect(out).toEqual([]);
    expect(issues).toEqual([
      { key: 'referralId', side: 'pc', reason: 'direction to-crm never writes Partner Center' },
      { key: 'bogus', side: 'pc', reason: 'opportunity has no field "bogus"' },
    ]);
  });

  it('lead: writes the first customer contact, creating the list or the profile when missing', () => {
    const emptyTeam = referral({ customerProfile: { name: 'Contoso', team: [] } });
    expect(canonicalToReferralChanges(entity('lead'), { firstName: 'Ann', email: 'ann@contoso.com' }, { current: emptyTeam })).toEqual([
      { path: ['customerProfile', 'team', '0'], value: { firstName: 'Ann', email: 'ann@contoso.com' }, op: 'add' },
    ]);
    expect(canonicalToReferralChanges(entity('lead'), { firstName: 'Ann' }, { current: referral({}) })).toEqual([
      { path: ['customerProfile'], value: { team: [{ firstName: 'Ann' }] }, op: 'add' },
    ]);
  });
});

describe('contacts as elements of customerProfile.team', () => {
  it('reads the requested element', () => {
    expect(referralToCanonical(entity('contact'), DOC, { item: 1 })).toEqual({ firstName: 'Joe', lastName: 'Hansen', email: 'joe.hansen@contoso.com', phone: '4035698759' });
    expect(() => referralToCanonical(entity('contact'), DOC)).toThrow(/pass options.item/);
    const issues: ConversionIssue[] = [];
    expect(referralToCanonical(entity('contact'), DOC, { item: 2, onIssue: (i) => issues.push(i) })).toEqual({});
    expect(issues[0]).toEqual({ key: 'firstName', side: 'pc', reason: 'customerProfile.team[2] does not exist' });
  });

  it('updates one element, appends a new one, and refuses to skip positions', () => {
    expect(canonicalToReferralChanges(entity('contact'), { email: 'joe@contoso.com' }, { current: DOC, item: 1 })).toEqual([
      { path: ['customerProfile', 'team', '1', 'email'], value: 'joe@contoso.com', op: 'replace' },
    ]);
    expect(canonicalToReferralChanges(entity('contact'), { firstName: 'Jane', lastName: 'Doe' }, { current: DOC, item: 'append' })).toEqual([
      { path: ['customerProfile', 'team', '-'], value: { firstName: 'Jane', lastName: 'Doe' }, op: 'add' },
    ]);
    expect(canonicalToReferralChanges(entity('contact'), { firstName: 'Jane' }, { current: referral({ customerProfile: { name: 'C' } }), item: 'append' })).toEqual([
      { path: ['customerProfile', 'team'], value: [{ firstName: 'Jane' }], op: 'add' },
    ]);
    const issues: ConversionIssue[] = [];
    expect(canonicalToReferralChanges(entity('contact'), { firstName: 'X' }, { current: DOC, item: 5, onIssue: (i) => issues.push(i) })).toEqual([]);
    expect(issues[0]?.reason).toMatch(/customerProfile.team has 2 element\(s\); cannot write element 5/);
  });
});
