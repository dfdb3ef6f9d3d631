import { describe, expect, it } from 'vitest';
import type { CrmEntityMetadata } from '../../../../src/crm/metadata.ts';
import {
  assertValidMapping,
  loadMappingFile,
  MappingError,
  validateMapping,
  type MappingIssue,
} from '../../../../src/sync/mapping/index.ts';
import { DATAVERSE_METADATA, OPPORTUNITY } from './fixtures/dataverse-metadata.ts';
import { FILE, parseSpec } from './helpers.ts';
import { defaultMappingPath } from '../../../../src/crm/vendors.ts';

function issuesFor(fieldsYaml: string, entity = 'opportunity', extra = ''): MappingIssue[] {
  const spec = parseSpec(`crm: dynamics\nprefix: cosell\nentities:\n  ${entity}:\n${extra}    fields:\n${fieldsYaml}`);
  return validateMapping(spec, DATAVERSE_METADATA);
}

function only(issues: MappingIssue[]): MappingIssue {
  expect(issues).toHaveLength(1);
  return issues[0] as MappingIssue;
}

describe('the default Dynamics mapping', () => {
  it('validates with zero issues against the expected Dataverse metadata', async () => {
    const spec = await loadMappingFile(defaultMappingPath('dynamics'), 'dynamics');
    expect(validateMapping(spec, DATAVERSE_METADATA)).toEqual([]);
    expect(() => assertValidMapping(spec, DATAVERSE_METADATA)).not.toThrow();
  });

  it('reports a custom column the organization lacks', async () => {
    const spec = await loadMappingFile(defaultMappingPath('dynamics'), 'dynamics');
    const { cosell_referrallink: _removed, ...columns } = OPPORTUNITY.columns;
    const issues = validateMapping(spec, { ...DATAVERSE_METADATA, opportunity: { ...OPPORTUNITY, columns } });
    expect(issues).toEqual([
      { file: spec.file, path: 'entities.opportunity.fields[8].crm', reason: 'unknown column "cosell_referrallink" on opportunity' },
    ]);
  });
});

describe('validateMapping reports', () => {
  it('an unknown CRM column, suggesting the near miss', () => {
    const issue = only(issuesFor('      - { key: d, pc: details.dealValue, crm: estimatedvalu, transform: money }\n'));
    expect(issue).toEqual({ file: FILE, path: 'entities.opportunity.fields[0].crm', reason: 'unknown column "estimatedvalu" on opportunity (did you mean "estimatedvalue"?)' });
  });

  it('a transform that does not fit the column type (money on a string column)', () => {
    const issue = only(issuesFor('      - { key: d, pc: details.dealValue, crm: name, transform: money }\n'));
    expect(issue.path).toBe('entities.opportunity.fields[0].transform');
    expect(issue.reason).toMatch(/^money does not fit name, a string column/);
  });

  it('a transform that does not fit the Partner Center value (money on the notes)', () => {
    const issue = only(issuesFor('      - { key: d, pc: details.notes, crm: estimatedvalue, transform: money }\n'));
    expect(issue.path).toBe('entities.opportunity.fields[0].transform');
    expect(issue.reason).toBe('money cannot read details.notes, which is a string');
  });

  it('unmapped Partner Center enum values for the to-CRM direction', () => {
    const issue = only(
      issuesFor(
        [
          '      - key: status',
          '        pc: [status, substatus]',
          '        crm: "@state"',
          '        direction: to-crm',
          '        transform:',
          '          type: valueMap',
          '          map:',
          '            - { pc: [Active, Accepted], crm: open }',
          '            - { pc: [Closed, Won], crm: won }',
          '            - { pc: [Closed, Lost], crm: lost }',
          '',
        ].join('\n'),
      ),
    );
    expect(issue.path).toBe('entities.opportunity.fields[0].transform.map');
    expect(issue.reason).toBe('no entry for Partner Center values New/Pending, New/Received, Closed/Declined, Closed/Expired (add entries or a default.crm)');
  });

  it('no coverage issue once a default covers the direction', () => {
    const fields = [
      '      - key: status',
      '        pc: [status, substatus]',
      '        crm: "@state"',
      '        direction: to-crm',
      '        transform:',
      '          type: valueMap',
      '          map:',
      '            - { pc: [Active, Accepted], crm: open }',
      '            - { pc: [Closed, Won], crm: won }',
      '            - { pc: [Closed, Lost], crm: lost }',
      '          default: { crm: open }',
      '',
    ].join('\n');
    expect(issuesFor(fields)).toEqual([]);
  });

  it('CRM picklist options with no way back to Partner Center', () => {
    const fields = [
      '      - key: help',
      '        pc: inviteContext.assistanceRequestCode',
      '        crm: cosell_howcanmicrosofthelp',
      '        direction: to-pc',
      '        transform:',
      '          type: valueMap',
      '          map:',
      '            - { pc: GeneralOrOther, crm: 100000005 }',
      '            - { pc: QuotesOrLicensing, crm: 100000003 }',
      '',
    ].join('\n');
    const issue = only(issuesFor(fields));
    expect(issue.path).toBe('entities.opportunity.fields[0].transform.map');
    expect(issue.reason).toBe('no entry for CRM options 100000000, 100000001, 100000002, 100000004 of cosell_howcanmicrosofthelp (add entries or a default.pc)');
  });

  it('value-map CRM values that are not options, and PC values that are not enum values', () => {
    const fields = [
      '      - key: help',
      '        pc: inviteContext.assistanceRequestCode',
      '        crm: cosell_howcanmicrosofthelp',
      '        direction: to-crm',
      '        transform:',
      '          type: valueMap',
      '          map:',
      '            - { pc: GeneralOrOther, crm: 99 }',
      '            - { pc: Sales, crm: 100000001 }',
      '          default: { crm: 100000001 }',
      '',
    ].join('\n');
    const issues = issuesFor(fields);
    expect(issues.map((i) => i.path)).toEqual(['entities.opportunity.fields[0].transform.map[0].crm', 'entities.opportunity.fields[0].transform.map[1].pc']);
    expect(issues[0]?.reason).toMatch(/^99 is not an option of cosell_howcanmicrosofthelp \(options: 100000000, /);
    expect(issues[1]?.reason).toMatch(/^"Sales" is not a value of inviteContext.assistanceRequestCode \(known: Unknown, GeneralOrOther/);
  });

  it('status pairs Partner Center would refuse, when the field writes Partner Center', () => {
    const fields = [
      '      - key: status',
      '        pc: [status, substatus]',
      '        crm: "@state"',
      '        direction: to-pc',
      '        transform:',
      '          type: valueMap',
      '          map:',
      '            - { pc: [Active, Won], crm: open }',
      '            - { pc: [Closed, Won], crm: won }',
      '            - { pc: [Closed, Lost], crm: lost }',
      '',
    ].join('\n');
    const issue = only(issuesFor(fields));
    expect(issue).toMatchObject({ path: 'entities.opportunity.fields[0].transform.map[0].pc', reason: 'Active/Won is not a status/substatus pair Partner Center accepts' });
  });

  it('a many-to-many value map that cannot tell values apart', () => {
    const fields = [
      '      - key: stage',
      '        pc: salesStage',
      '        crm: salesstage',
      '        transform:',
      '          type: valueMap',
      '          map:',
      '            - { pc: Qualify, crm: 0 }',
      '            - { pc: Develop, crm: 0 }',
      '            - { pc: Develop, crm: 1 }',
      '            - { pc: Propose, crm: 2 }',
      '            - { pc: Close, crm: 3 }',
      // The other spellings of Partner Center's stages (UI names, percentages) go to a default: only the ambiguity is reported.
      '          default: { crm: 0 }',
      '',
    ].join('\n');
    const issue = only(issuesFor(fields));
    expect(issue.path).toBe('entities.opportunity.fields[0].transform.map');
    expect(issue.reason).toMatch(/^Partner Center values Qualify, Develop and CRM values 0, 1 are linked into one class/);
  });

  it('empty values mapped on both sides to different things', () => {
    const fields = [
      '      - key: help',
      '        pc: inviteContext.assistanceRequestCode',
      '        crm: cosell_howcanmicrosofthelp',
      '        direction: to-crm',
      '        transform:',
      '          type: valueMap',
      '          map:',
      '            - { pc: Unknown, crm: null }',
      '            - { pc: null, crm: 100000005 }',
      '          default: { crm: 100000005 }',
      '',
    ].join('\n');
    const issue = only(issuesFor(fields));
    expect(issue.path).toBe('entities.opportunity.fields[0].transform.map');
    expect(issue.reason).toMatch(/^the empty PC value and the empty CRM value are mapped to different values/);
  });

  it('duplicate keys and two fields writing one column', () => {
    const issues = issuesFor('      - { key: n, pc: name, crm: name, transform: string }\n      - { key: n, pc: details.notes, crm: name, transform: string }\n');
    expect(issues).toEqual([
      { file: FILE, path: 'entities.opportunity.fields[1].key', reason: 'duplicate key "n" (first used by entities.opportunity.fields[0])' },
      { file: FILE, path: 'entities.opportunity.fields[1].crm', reason: 'column name is also written by field "n"' },
    ]);
  });

  it('a read-only column mapped toward the CRM', () => {
    const issue = only(issuesFor('      - { key: v, pc: updatedDateTime, crm: modifiedon, direction: to-crm, transform: datetime }\n'));
    expect(issue).toEqual({ file: FILE, path: 'entities.opportunity.fields[0].crm', reason: 'modifiedon is read-only in the CRM; a field writing it must have direction to-pc' });
  });

  it('invalid Partner Center paths, with a hint', () => {
    const issues = issuesFor(
      '      - { key: a, pc: details.dealvalue, crm: estimatedvalue, transform: money }\n      - { key: b, pc: customerProfile.team.email, crm: description, transform: string }\n',
    );
    expect(issues).toEqual([
      { file: FILE, path: 'entities.opportunity.fields[0].pc', reason: 'unknown Partner Center path "details.dealvalue": details has no "dealvalue" (did you mean "dealValue"?)' },
      {
        file: FILE,
        path: 'entities.opportunity.fields[1].pc',
        reason: 'unknown Partner Center path "customerProfile.team.email": customerProfile.team is a list; pick an element first, e.g. customerProfile.team[0].email',
      },
    ]);
  });

  it('accepts any path under a tolerant container (additionalRequirements, partnerRole)', () => {
    const issues = issuesFor(
      '      - { key: a, pc: details.requirements.additionalRequirements.iot.deviceCategory, crm: stepname, transform: string }\n      - { key: b, pc: partnerRole.name, crm: description, transform: string }\n',
    );
    expect(issues).toEqual([]);
  });

  it('writing a value Partner Center owns', () => {
    const issue = only(issuesFor('      - { key: r, pc: id, crm: cosell_referralidentifier, transform: string }\n'));
    expect(issue).toEqual({ file: FILE, path: 'entities.opportunity.fields[0].pc', reason: 'id is set by Partner Center and cannot be written: use direction to-crm' });
  });

  it('a lookup pointing at the wrong table and a maxLength beyond the column', () => {
    const issues = issuesFor(
      '      - { key: c, pc: details.currency, crm: transactioncurrencyid, transform: { type: lookup, entity: currency, by: isocurrencycode } }\n      - { key: n, pc: name, crm: name, transform: { type: string, maxLength: 500 } }\n',
    );
    expect(issues).toEqual([
      { file: FILE, path: 'entities.opportunity.fields[0].transform.entity', reason: 'transactioncurrencyid points at transactioncurrency, not currency' },
      {
        file: FILE,
        path: 'entities.opportunity.fields[0].transform.entity',
        reason: 'a lookup on opportunity resolves codes only to transactioncurrency; a lookup to currency works in the account and contact sections',
      },
      { file: FILE, path: 'entities.opportunity.fields[1].transform.maxLength', reason: 'name holds at most 300 characters' },
    ]);
  });

  it('a lookup to a table the deal cannot resolve codes for: named at config time, not failing every create', () => {
    const custom = { ...OPPORTUNITY, columns: { ...OPPORTUNITY.columns, cosell_countryid: { name: 'cosell_countryid', type: 'lookup' as const, target: 'cosell_country' } } };
    const spec = parseSpec(
      'crm: dynamics\nprefix: cosell\nentities:\n  opportunity:\n    fields:\n      - { key: k, pc: customerProfile.address.country, crm: cosell_countryid, transform: { type: lookup, entity: cosell_country, by: cosell_isocode } }\n',
    );
    expect(validateMapping(spec, { ...DATAVERSE_METADATA, opportunity: custom })).toEqual([
      {
        file: FILE,
        path: 'entities.opportunity.fields[0].transform.entity',
        reason: 'a lookup on opportunity resolves codes only to transactioncurrency; a lookup to cosell_country works in the account and contact sections',
      },
    ]);
  });

  it('a constant of the wrong type for its column', () => {
    const issue = only(issuesFor('      - { key: s, crm: cosell_syncwithpartnercenter, direction: to-crm, transform: { type: constant, value: "yes" } }\n'));
    expect(issue.path).toBe('entities.opportunity.fields[0].transform');
    expect(issue.reason).toMatch(/^constant does not fit cosell_syncwithpartnercenter, a boolean column/);
  });

  it('contact fields relative to the pcItems list, and a pcItems that is not a list', () => {
    expect(issuesFor('      - { key: e, pc: email, crm: emailaddress1, transform: string }\n', 'contact', '    pcItems: customerProfile.team\n')).toEqual([]);
    const issue = only(issuesFor('      - { key: e, pc: email, crm: emailaddress1, transform: string }\n', 'contact', '    pcItems: customerProfile.address\n'));
    expect(issue).toEqual({ file: FILE, path: 'entities.contact.pcItems', reason: 'customerProfile.address is an object, not a list' });
  });

  it('an entity the CRM has no table for', () => {
    const spec = parseSpec('crm: dynamics\nentities:\n  lead:\n    fields: []\n');
    const noLead: Partial<Record<string, CrmEntityMetadata>> = { ...DATAVERSE_METADATA, lead: undefined };
    expect(validateMapping(spec, noLead)).toEqual([{ file: FILE, path: 'entities.lead', reason: 'the CRM reports no table for entity lead' }]);
  });

  it('assertValidMapping throws a MappingError carrying every issue', () => {
    const spec = parseSpec('crm: dynamics\nentities:\n  opportunity:\n    fields:\n      - { key: a, pc: nam, crm: nme }\n');
    let thrown: unknown;
    try {
      assertValidMapping(spec, DATAVERSE_METADATA);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MappingError);
    expect((thrown as MappingError).issues.map((i) => i.path)).toEqual(['entities.opportunity.fields[0].pc', 'entities.opportunity.fields[0].crm']);
    expect((thrown as MappingError).message).toMatch(/^test-mapping\.yaml at entities\.opportunity\.fields\[0\]\.pc: unknown Partner Center path "nam"/);
  });
});
