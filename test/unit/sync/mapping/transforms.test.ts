import { describe, expect, it } from 'vitest';
import { canonicalToCrm, canonicalToReferralChanges, crmToCanonical, referralToCanonical, type ConversionIssue, type EntitySpec } from '../../../../src/sync/mapping/index.ts';
import { opportunityWith, referral } from './helpers.ts';
import type { CanonicalRecord } from '../../../../src/canonical-value.ts';

/** Reads one field from both sides; `undefined` means unreadable (left out of the record). */
function both(entity: EntitySpec, pcData: Record<string, unknown>, crmValues: Record<string, unknown>) {
  const issues: ConversionIssue[] = [];
  const onIssue = (issue: ConversionIssue) => issues.push(issue);
  const pc = referralToCanonical(entity, referral(pcData), { onIssue, microsoftReferral: null });
  const crm = crmToCanonical(entity, crmValues, { onIssue });
  return { pc: pc.f, crm: crm.f, pcHas: 'f' in pc, crmHas: 'f' in crm, issues };
}

function writes(entity: EntitySpec, value: CanonicalRecord[string]) {
  const issues: ConversionIssue[] = [];
  return {
    crm: canonicalToCrm(entity, { f: value }, { onIssue: (i) => issues.push(i) }),
    pc: canonicalToReferralChanges(entity, { f: value }, { onIssue: (i) => issues.push(i) }),
    issues,
  };
}

describe('string', () => {
  const entity = opportunityWith('- { key: f, pc: name, crm: name, transform: { type: string, maxLength: 10 } }');

  it('trims, treats empty as null, and compares a long PC value equal to its truncated CRM copy', () => {
    expect(both(entity, { name: '  Contoso  ' }, { name: 'Contoso' })).toMatchObject({ pc: 'Contoso', crm: 'Contoso' });
    expect(both(entity, { name: '   ' }, { name: '' })).toMatchObject({ pc: null, crm: null, pcHas: true });
    expect(both(entity, { name: 'Contoso ERP rollout' }, { name: 'Contoso ER' })).toMatchObject({ pc: 'Contoso ER', crm: 'Contoso ER' });
  });

  it('writes the same string both ways', () => {
    expect(writes(entity, 'Fabrikam')).toMatchObject({ crm: { name: 'Fabrikam' }, pc: [{ path: ['name'], value: 'Fabrikam', op: 'replace' }] });
    expect(writes(entity, null).crm).toEqual({ name: null });
  });

  it('upper-cases and leaves values not matching the pattern unread', () => {
    const country = opportunityWith('- { key: f, pc: customerProfile.address.country, crm: address1_country, transform: { type: string, case: upper, pattern: "^[A-Z]{2}$" } }');
    const ok = both(country, { customerProfile: { address: { country: 'us' } } }, { address1_country: 'US' });
    expect(ok).toMatchObject({ pc: 'US', crm: 'US' });
    const bad = both(country, { customerProfile: { address: { country: 'US' } } }, { address1_country: 'United States' });
    expect(bad.crmHas).toBe(false);
    expect(bad.issues).toEqual([{ key: 'f', side: 'crm', reason: '"UNITED STATES" does not match ^[A-Z]{2}$' }]);
  });
});

describe('number and money', () => {
  it('number: numeric strings are numbers; other text is unreadable', () => {
    const entity = opportunityWith('- { key: f, pc: details.dealValue, crm: closeprobability, transform: number }');
    expect(both(entity, { details: { dealValue: '42' } }, { closeprobability: 42 })).toMatchObject({ pc: 42, crm: 42 });
    const bad = both(entity, { details: { dealValue: 1 } }, { closeprobability: 'forty' });
    expect(bad.crmHas).toBe(false);
    expect(bad.issues[0]?.reason).toBe('expected a number, got "forty"');
  });

  it('money: PC numeric strings and CRM decimals compare at fixed decimals', () => {
    const entity = opportunityWith('- { key: f, pc: details.dealValue, crm: estimatedvalue, transform: money }');
    expect(both(entity, { details: { dealValue: '50000' } }, { estimatedvalue: 50000.0001 })).toMatchObject({ pc: 50000, crm: 50000 });
    expect(both(entity, { details: { dealValue: 1.005 } }, { estimatedvalue: '1.01' })).toMatchObject({ pc: 1.01, crm: 1.01 });
    expect(both(entity, { details: { dealValue: null } }, { estimatedvalue: null })).toMatchObject({ pc: null, crm: null });
    expect(writes(entity, 123.456)).toMatchObject({ crm: { estimatedvalue: 123.46 }, pc: [{ path: ['details', 'dealValue'], value: 123.46 }] });
  });

  it('money with decimals: 0 rounds to whole units', () => {
    const entity = opportunityWith('- { key: f, pc: details.dealValue, crm: estimatedvalue, transform: { type: money, decimals: 0 } }');
    expect(both(entity, { details: { dealValue: 99.5 } }, { estimatedvalue: 100 })).toMatchObject({ pc: 100, crm: 100 });
  });
});

describe('boolean', () => {
  const entity = opportunityWith('- { key: f, pc: consent.consentToContact, crm: cosell_referralvisibility, transform: boolean }');

  it('reads true/false, 1/0 and their strings alike', () => {
    expect(both(entity, { consent: { consentToContact: true } }, { cosell_referralvisibility: 1 })).toMatchObject({ pc: true, crm: true });
    expect(both(entity, { consent: { consentToContact: false } }, { cosell_referralvisibility: 'False' })).toMatchObject({ pc: false, crm: false });
    expect(writes(entity, true)).toMatchObject({ crm: { cosell_referralvisibility: true }, pc: [{ value: true }] });
  });

  it('nullAs makes an absent flag equal to the column default', () => {
    const withDefault = opportunityWith('- { key: f, pc: consent.consentToContact, crm: cosell_referralvisibility, transform: { type: boolean, nullAs: false } }');
    expect(both(withDefault, {}, { cosell_referralvisibility: false })).toMatchObject({ pc: false, crm: false });
    expect(both(entity, {}, { cosell_referralvisibility: null })).toMatchObject({ pc: null, crm: null });
  });
});

describe('date and datetime', () => {
  const date = opportunityWith('- { key: f, pc: details.closingDateTime, crm: estimatedclosedate, transform: date }');

  it('date: a UTC date-time equals the CRM date-only value', () => {
    expect(both(date, { details: { closingDateTime: '2018-11-14T00:00:00Z' } }, { estimatedclosedate: '2018-11-14' })).toMatchObject({ pc: '2018-11-14', crm: '2018-11-14' });
    // The UTC calendar date of the instant, not the date written in another offset.
    expect(both(date, { details: { closingDateTime: '2018-11-14T23:30:00-05:00' } }, { estimatedclosedate: '2018-11-15' })).toMatchObject({ pc: '2018-11-15', crm: '2018-11-15' });
    // No offset: UTC, as both APIs mean, whatever the machine's time zone.
    expect(both(date, { details: { closingDateTime: '2018-11-14T23:59:59' } }, { estimatedclosedate: '2018-11-14' })).toMatchObject({ pc: '2018-11-14' });
  });

  it('date: impossible dates are unreadable; writes give PC midnight UTC and the CRM the date', () => {
    const bad = both(date, { details: { closingDateTime: '2018-02-30' } }, { estimatedclosedate: '2018-02-28' });
    expect(bad.pcHas).toBe(false);
    expect(writes(date, '2026-12-31')).toMatchObject({
      crm: { estimatedclosedate: '2026-12-31' },
      pc: [{ path: ['details', 'closingDateTime'], value: '2026-12-31T00:00:00Z' }],
    });
  });

  it('datetime: equal instants in different offsets and precisions compare equal', () => {
    const dt = opportunityWith('- { key: f, pc: details.closingDateTime, crm: cosell_referrallink, transform: datetime }');
    expect(both(dt, { details: { closingDateTime: '2019-02-23T02:05:23Z' } }, { cosell_referrallink: '2019-02-23T03:05:23.000+01:00' })).toMatchObject({
      pc: '2019-02-23T02:05:23.000Z',
      crm: '2019-02-23T02:05:23.000Z',
    });
  });
});

describe('valueMap', () => {
  const status = opportunityWith(`
- key: f
  pc: [status, substatus]
  crm: "@state"
  transform:
    type: valueMap
    map:
      - { pc: [Active, Accepted], crm: open }
      - { pc: [New, Pending], crm: open }
      - { pc: [Closed, Won], crm: won }
      - { pc: [Closed, Lost], crm: lost }
      - { pc: [Closed, Declined], crm: lost }
`);

  it('reads composite PC values and CRM values into one class label', () => {
    expect(both(status, { status: 'Closed', substatus: 'Won' }, { '@state': 'won' })).toMatchObject({ pc: 'Closed/Won', crm: 'Closed/Won' });
    expect(both(status, { status: 'New', substatus: 'Pending' }, { '@state': 'open' })).toMatchObject({ pc: 'Active/Accepted', crm: 'Active/Accepted' });
  });

  it('is explicit about lossy mappings: Declined and lost are one class, written back as the first listed', () => {
    expect(both(status, { status: 'Closed', substatus: 'Declined' }, { '@state': 'lost' })).toMatchObject({ pc: 'Closed/Lost', crm: 'Closed/Lost' });
    expect(writes(status, 'Closed/Lost').pc).toEqual([
      { path: ['status'], value: 'Closed', op: 'replace' },
      { path: ['substatus'], value: 'Lost', op: 'replace' },
    ]);
    expect(writes(status, 'Active/Accepted').crm).toEqual({ '@state': 'open' });
  });

  it('matches loosely (case, numeric strings) and leaves unknown values unread', () => {
    expect(both(status, { status: 'closed', substatus: 'WON' }, { '@state': ' Won ' })).toMatchObject({ pc: 'Closed/Won', crm: 'Closed/Won' });
    const unknown = both(status, { status: 'Active', substatus: 'Paused' }, { '@state': 'frozen' });
    expect(unknown).toMatchObject({ pcHas: false, crmHas: false });
    expect(unknown.issues.map((i) => i.reason)).toEqual([
      'no map entry or default.crm for Partner Center value ["Active","Paused"]',
      'no map entry or default.pc for CRM value "frozen"',
    ]);
  });

  it('uses the per-direction defaults for unmapped values', () => {
    const withDefaults = opportunityWith(`
- key: f
  pc: salesStage
  crm: salesstage
  transform:
    type: valueMap
    map: [{ pc: Qualify, crm: 0 }, { pc: Develop, crm: 1 }]
    default: { crm: 0, pc: Develop }
`);
    expect(both(withDefaults, { salesStage: '100' }, { salesstage: '7' })).toMatchObject({ pc: 'Qualify', crm: 'Develop' });
    expect(both(withDefaults, { salesStage: 'Develop' }, { salesstage: '1' })).toMatchObject({ pc: 'Develop', crm: 'Develop' });
  });

  it('keeps empty as null: a value mapped to an empty CRM choice reads as null and is written back', () => {
    const help = opportunityWith(`
- key: f
  pc: inviteContext.assistanceRequestCode
  crm: cosell_howcanmicrosofthelp
  transform:
    type: valueMap
    map:
      - { pc: GeneralOrOther, crm: 100000005 }
      - { pc: Unknown, crm: null }
`);
    expect(both(help, { inviteContext: { assistanceRequestCode: 'Unknown' } }, { cosell_howcanmicrosofthelp: null })).toMatchObject({ pc: null, crm: null });
    expect(both(help, {}, { cosell_howcanmicrosofthelp: '100000005' })).toMatchObject({ pc: null, crm: 'GeneralOrOther' });
    expect(writes(help, null)).toMatchObject({ crm: { cosell_howcanmicrosofthelp: null }, pc: [{ path: ['inviteContext', 'assistanceRequestCode'], value: 'Unknown' }] });
    expect(writes(help, 'GeneralOrOther').crm).toEqual({ cosell_howcanmicrosofthelp: 100000005 });
  });
});

describe('multiValueMap', () => {
  const tags = opportunityWith(`
- key: f
  pc: tags
  crm: cosell_products
  transform:
    type: multiValueMap
    map:
      - { pc: Azure, crm: 100000000 }
      - { pc: Teams, crm: 100000001 }
      - { pc: SQL, crm: 100000002 }
`);

  it('compares as sorted sets; accepts lists or comma-separated CRM values', () => {
    expect(both(tags, { tags: ['Teams', 'Azure', 'Azure'] }, { cosell_products: '100000001,100000000' })).toMatchObject({ pc: ['Azure', 'Teams'], crm: ['Azure', 'Teams'] });
    expect(both(tags, { tags: [] }, { cosell_products: null })).toMatchObject({ pc: null, crm: null });
  });

  it('writes lists both ways; an unknown element makes the field unreadable', () => {
    expect(writes(tags, ['SQL', 'Azure'])).toMatchObject({ crm: { cosell_products: [100000002, 100000000] }, pc: [{ path: ['tags'], value: ['SQL', 'Azure'] }] });
    expect(writes(tags, null)).toMatchObject({ crm: { cosell_products: null }, pc: [{ value: [] }] });
    expect(both(tags, { tags: ['Azure', 'Surface'] }, { cosell_products: [100000000] }).pcHas).toBe(false);
  });
});

describe('template, join, split', () => {
  it('template renders PC values to-crm; all-empty placeholders read as null; never writes PC', () => {
    const entity = opportunityWith('- { key: f, crm: name, direction: to-crm, transform: { type: template, template: "{customerProfile.name} – {name}" } }');
    expect(both(entity, { name: 'ERP', customerProfile: { name: 'Contoso' } }, { name: 'Contoso – ERP' })).toMatchObject({ pc: 'Contoso – ERP', crm: 'Contoso – ERP' });
    expect(both(entity, {}, { name: null })).toMatchObject({ pc: null, crm: null });
    const attempt = writes(entity, 'x');
    expect(attempt.pc).toEqual([]);
    expect(attempt.issues).toContainEqual({ key: 'f', side: 'pc', reason: 'direction to-crm never writes Partner Center' });
  });

  it('join combines PC paths into one column and splits back from the left', () => {
    const entity = opportunityWith('- { key: f, pc: ["customerProfile.team[0].firstName", "customerProfile.team[0].lastName"], crm: description, transform: join }');
    expect(both(entity, { customerProfile: { team: [{ firstName: 'Sue', lastName: 'Smith' }] } }, { description: ' Sue Smith ' })).toMatchObject({ pc: 'Sue Smith', crm: 'Sue Smith' });
    expect(both(entity, { customerProfile: { team: [{ lastName: 'Smith' }] } }, { description: 'Smith' })).toMatchObject({ pc: 'Smith' });
    expect(writes(entity, 'Mary Ann Lee').pc.map((c) => c.value)).toEqual(['Mary', 'Ann Lee']);
  });

  it('split fills several columns from one PC value', () => {
    const entity = opportunityWith('- { key: f, pc: name, crm: [stepname, description], transform: { type: split, separator: " - " } }');
    expect(both(entity, { name: 'Contoso - ERP - phase 2' }, { stepname: 'Contoso', description: 'ERP - phase 2' })).toMatchObject({ pc: 'Contoso - ERP - phase 2', crm: 'Contoso - ERP - phase 2' });
    expect(writes(entity, 'Contoso - ERP - phase 2').crm).toEqual({ stepname: 'Contoso', description: 'ERP - phase 2' });
    expect(writes(entity, 'Contoso').crm).toEqual({ stepname: 'Contoso', description: null });
  });
});

describe('lookup and constant', () => {
  it('lookup keeps the code canonical and hands the connector a reference to resolve', () => {
    const entity = opportunityWith('- { key: f, pc: details.currency, crm: transactioncurrencyid, transform: { type: lookup, entity: transactioncurrency, by: isocurrencycode, case: upper } }');
    expect(both(entity, { details: { currency: 'usd' } }, { transactioncurrencyid: 'USD' })).toMatchObject({ pc: 'USD', crm: 'USD' });
    expect(both(entity, {}, { transactioncurrencyid: { kind: 'lookup', entity: 'transactioncurrency', by: 'isocurrencycode', value: 'eur' } })).toMatchObject({ crm: 'EUR' });
    expect(writes(entity, 'EUR')).toMatchObject({
      crm: { transactioncurrencyid: { kind: 'lookup', entity: 'transactioncurrency', by: 'isocurrencycode', value: 'EUR' } },
      pc: [{ path: ['details', 'currency'], value: 'EUR' }],
    });
    expect(writes(entity, null).crm).toEqual({ transactioncurrencyid: null });
  });

  it('a to-crm constant is the PC side\'s value; the CRM column is read by the constant\'s type', () => {
    const entity = opportunityWith('- { key: f, crm: cosell_syncwithpartnercenter, direction: to-crm, transform: { type: constant, value: true } }');
    expect(both(entity, {}, { cosell_syncwithpartnercenter: 0 })).toMatchObject({ pc: true, crm: false });
    expect(writes(entity, true).crm).toEqual({ cosell_syncwithpartnercenter: true });
  });

  it('a to-pc constant is the CRM side\'s value and writes its PC path', () => {
    const entity = opportunityWith('- { key: f, pc: consent.consentToContact, direction: to-pc, transform: { type: constant, value: true } }');
    expect(both(entity, { consent: { consentToContact: false } }, {})).toMatchObject({ pc: false, crm: true });
    expect(writes(entity, true)).toMatchObject({ crm: {}, pc: [{ path: ['consent', 'consentToContact'], value: true }] });
  });

  it('none passes scalars through, cleaned', () => {
    const entity = opportunityWith('- { key: f, pc: name, crm: name }');
    expect(both(entity, { name: ' A ' }, { name: 'A' })).toMatchObject({ pc: 'A', crm: 'A' });
    expect(both(entity, {}, { name: { nested: true } }).crmHas).toBe(false);
  });
});
