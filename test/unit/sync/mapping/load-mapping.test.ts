import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../src/config/errors.ts';
import { loadMappingFile, MappingError, parseMappingText } from '../../../../src/sync/mapping/index.ts';
import { makeTempDir } from '../../../support/tmp.ts';
import { FILE, loadError, parseSpec } from './helpers.ts';
import { defaultMappingPath } from '../../../../src/crm/vendors.ts';

const HEADER = 'crm: dynamics\nprefix: cosell\nentities:\n  opportunity:\n    fields:\n';

describe('loadMappingFile', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it('loads the shipped Dynamics mapping with every entity and {prefix} applied', async () => {
    const spec = await loadMappingFile(defaultMappingPath('dynamics'), 'dynamics');
    expect(Object.keys(spec.entities).sort()).toEqual(['account', 'contact', 'lead', 'opportunity']);
    expect(spec.prefix).toBe('cosell');
    const columns = spec.entities.opportunity?.fields.flatMap((f) => f.crm) ?? [];
    expect(columns).toContain('cosell_referralidentifier');
    expect(columns.some((c) => c.includes('{prefix}'))).toBe(false);
  });

  it('lets the caller override the prefix', async () => {
    const spec = await loadMappingFile(defaultMappingPath('dynamics'), 'dynamics', { prefix: 'pcs' });
    expect(spec.entities.opportunity?.fields.find((f) => f.key === 'referralId')?.crm).toEqual(['pcs_referralidentifier']);
  });

  it('reports an unreadable file as a MappingError (a ConfigError: exit code 2)', async () => {
    const error = await loadMappingFile(join(tmp.path, 'missing.yaml'), 'dynamics').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MappingError);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as MappingError).reason).toMatch(/cannot read the mapping file \(ENOENT\)/);
  });

  it('reports YAML syntax errors with line and column', async () => {
    const file = join(tmp.path, 'broken.yaml');
    writeFileSync(file, 'crm: dynamics\nentities:\n  opportunity: [unclosed\n');
    const error = (await loadMappingFile(file, 'dynamics').catch((e: unknown) => e)) as MappingError;
    expect(error).toBeInstanceOf(MappingError);
    expect(error.file).toBe(file);
    expect(error.path).toMatch(/^line \d+, column \d+$/);
    expect(error.reason).toMatch(/^invalid YAML/);
  });

  it('rejects a mapping written for another CRM', () => {
    const error = (() => {
      try {
        parseMappingText('crm: salesforce\nentities: {}\n', FILE, 'dynamics');
      } catch (e) {
        return e as MappingError;
      }
      throw new Error('accepted');
    })();
    expect(error.path).toBe('crm');
    expect(error.reason).toContain('for salesforce');
  });
});

describe('mapping structure errors name the exact path', () => {
  const cases: Array<{ name: string; fields: string; path: string; reason: RegExp }> = [
    {
      name: 'unknown transform type',
      fields: '      - { key: a, pc: name, crm: name, transform: { type: upper } }\n',
      path: 'entities.opportunity.fields[0].transform.type',
      reason: /unknown transform type; expected one of none, string/,
    },
    {
      name: 'misspelt setting',
      fields: '      - { key: a, pc: name, crm: name }\n      - { key: b, pc: name, crm: name, conflcit: manual }\n',
      path: 'entities.opportunity.fields[1].conflcit',
      reason: /unknown setting "conflcit"/,
    },
    {
      name: 'bad conflict policy',
      fields: '      - { key: a, pc: name, crm: name, conflict: last-wins }\n',
      path: 'entities.opportunity.fields[0].conflict',
      reason: /pc-wins/,
    },
    {
      name: 'malformed PC path',
      fields: '      - { key: a, pc: "details..notes", crm: description }\n',
      path: 'entities.opportunity.fields[0].pc',
      reason: /Partner Center path/,
    },
    {
      name: 'value-map entry with the wrong arity',
      fields: [
        '      - key: status',
        '        pc: [status, substatus]',
        '        crm: "@state"',
        '        transform:',
        '          type: valueMap',
        '          map:',
        '            - { pc: [Active, Accepted], crm: open }',
        '            - { pc: Closed, crm: won }',
        '',
      ].join('\n'),
      path: 'entities.opportunity.fields[0].transform.map[1].pc',
      reason: /expected a list of 2 values/,
    },
    {
      name: 'empty value map',
      fields: '      - { key: s, pc: status, crm: "@state", transform: { type: valueMap, map: [] } }\n',
      path: 'entities.opportunity.fields[0].transform.map',
      reason: /at least one entry/,
    },
    {
      name: 'value-map default that is not a map value',
      fields: '      - { key: s, pc: status, crm: "@state", transform: { type: valueMap, map: [{ pc: Active, crm: open }], default: { crm: closed } } }\n',
      path: 'entities.opportunity.fields[0].transform.default.crm',
      reason: /one of the crm values listed/,
    },
    {
      name: 'template flowing to Partner Center',
      fields: '      - { key: t, crm: name, direction: both, transform: { type: template, template: "{name}" } }\n',
      path: 'entities.opportunity.fields[0].direction',
      reason: /to-crm/,
    },
    {
      name: 'template with an unclosed placeholder',
      fields: '      - { key: t, crm: name, direction: to-crm, transform: { type: template, template: "{name" } }\n',
      path: 'entities.opportunity.fields[0].transform.template',
      reason: /unclosed "\{"/,
    },
    {
      name: 'constant flowing both ways',
      fields: '      - { key: c, crm: cosell_syncwithpartnercenter, transform: { type: constant, value: true } }\n',
      path: 'entities.opportunity.fields[0].direction',
      reason: /to-crm or to-pc/,
    },
    {
      name: 'missing CRM column',
      fields: '      - { key: a, pc: name }\n',
      path: 'entities.opportunity.fields[0].crm',
      reason: /missing the CRM column/,
    },
    {
      name: 'several PC paths for a one-value transform',
      fields: '      - { key: a, pc: [name, details.notes], crm: name, transform: string }\n',
      path: 'entities.opportunity.fields[0].pc',
      reason: /only valueMap and join/,
    },
    {
      name: 'writing Microsoft\'s referral',
      fields: '      - { key: m, pc: "@microsoft.status", crm: cosell_microsoftstatus, direction: both }\n',
      path: 'entities.opportunity.fields[0].direction',
      reason: /never write/,
    },
    {
      name: 'money with too many decimals',
      fields: '      - { key: d, pc: details.dealValue, crm: estimatedvalue, transform: { type: money, decimals: 12 } }\n',
      path: 'entities.opportunity.fields[0].transform.decimals',
      reason: /10/,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const error = loadError(HEADER + c.fields);
      expect(error.file).toBe(FILE);
      expect(error.path).toBe(c.path);
      expect(error.reason).toMatch(c.reason);
    });
  }

  it('names an unknown entity', () => {
    const error = loadError('crm: dynamics\nentities:\n  quote:\n    fields: []\n');
    expect(error.path).toBe('entities.quote');
    expect(error.reason).toMatch(/unknown entity "quote"; expected one of opportunity, lead, account, contact/);
  });

  it('requires a prefix when {prefix} is used', () => {
    const error = loadError('crm: dynamics\nentities:\n  opportunity:\n    fields:\n      - { key: r, pc: id, crm: "{prefix}_referralidentifier", direction: to-crm }\n');
    expect(error.path).toBe('entities.opportunity.fields[0].crm');
    expect(error.reason).toMatch(/no prefix/);
  });

  it('adds the line of the offending node to the reason', () => {
    const error = loadError(`${HEADER}      - key: a\n        pc: name\n        crm: name\n        conflict: sometimes\n`);
    expect(error.reason).toMatch(/\(line 9\)$/);
  });

  it('keeps every issue, not only the first', () => {
    const error = loadError(`${HEADER}      - { key: a, pc: name, crm: name, conflict: x }\n      - { key: b, pc: name, crm: name, direction: sideways }\n`);
    expect(error.issues.map((i) => i.path)).toEqual(['entities.opportunity.fields[0].conflict', 'entities.opportunity.fields[1].direction']);
  });
});

describe('mapping defaults and shorthand', () => {
  it('fills direction both, conflict newest-wins and transform none; accepts `transform: money`', () => {
    const spec = parseSpec(`${HEADER}      - { key: a, pc: name, crm: name }\n      - { key: d, pc: details.dealValue, crm: estimatedvalue, transform: money }\n`);
    const [a, d] = spec.entities.opportunity?.fields ?? [];
    expect(a).toMatchObject({ direction: 'both', conflict: 'newest-wins', transform: { type: 'none' }, linkOnly: false });
    expect(d?.transform).toEqual({ type: 'money', decimals: 2 });
    expect(d?.at).toBe('entities.opportunity.fields[1]');
  });

  it('derives a template\'s Partner Center paths from its placeholders', () => {
    const spec = parseSpec(`${HEADER}      - { key: t, crm: name, direction: to-crm, transform: { type: template, template: "{customerProfile.name} – {name} {{x}}" } }\n`);
    expect(spec.entities.opportunity?.fields[0]?.pc.map((p) => p.text)).toEqual(['customerProfile.name', 'name']);
  });

  it('marks constants applied on create as link-only', () => {
    const spec = parseSpec(`${HEADER}      - { key: c, crm: x, direction: to-crm, transform: { type: constant, value: true } }\n      - { key: k, crm: y, direction: to-crm, transform: { type: constant, value: 1, on: always } }\n`);
    expect(spec.entities.opportunity?.fields.map((f) => f.linkOnly)).toEqual([true, false]);
  });
});
