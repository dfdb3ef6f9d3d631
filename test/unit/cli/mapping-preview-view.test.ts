import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/errors.ts';
import { chooseConnection, renderPreview, wrap } from '../../../src/cli/mapping-preview-view.ts';
import type { MappingPreview } from '../../../src/sync/mapping-preview.ts';

describe('mapping preview output', () => {
  it('wraps a long value instead of cutting it: every character is still there', () => {
    const value = `${'word '.repeat(30)}${'x'.repeat(70)}`;
    const lines = wrap(value, 24);
    expect(lines.every((l) => l.length <= 24)).toBe(true);
    expect(lines.join('').replace(/ /g, '')).toBe(value.replace(/ /g, ''));
  });

  it('prints the Partner Center status, every create column and whole values', () => {
    const long = `${'Contoso is evaluating a migration '.repeat(6)}END`;
    const preview: MappingPreview = {
      connection: 'dynamics',
      referralId: 'ref-1',
      crm: null,
      linked: false,
      fields: [{ key: 'description', direction: 'both', base: undefined, partnerCenter: long, crm: undefined }],
      partnerCenterStatus: { status: 'Active', substatus: 'Accepted' },
      create: { entity: 'opportunity', columns: { name: 'Deal ✔', description: long, 'parentaccountid@odata.bind': '/accounts(<customer-account>)' }, customerColumns: ['parentaccountid@odata.bind'], customer: { name: 'Contoso', contacts: [] } },
      toCrm: {},
      toPartnerCenter: [],
      conflicts: [],
    };
    const text = renderPreview(preview, 100);
    expect(text).toContain('Partner Center status: Active / Accepted');
    expect(text).toContain('would create this opportunity (3 columns):');
    expect(text).toContain('parentaccountid@odata.bind');
    expect(text.split('\n').every((line) => line.length <= 100)).toBe(true);
    expect((text.match(/END/g) ?? []).length).toBe(2); // the description, whole, in the fields table and the create
  });
});

describe('which connection to preview', () => {
  const connections = new Map([
    ['dynamics', 'dv'],
    ['salesforce', 'sf'],
  ]);

  it('takes the named one, or the only one', async () => {
    expect(await chooseConnection(connections, 'salesforce', { interactive: false })).toBe('sf');
    expect(await chooseConnection(new Map([['dynamics', 'dv']]), undefined, { interactive: false })).toBe('dv');
    await expect(chooseConnection(connections, 'nope', { interactive: false })).rejects.toThrow(/no connection named nope/);
  });

  it('with several and no terminal: a usage error (exit 2) naming --connection', async () => {
    const failure = chooseConnection(connections, undefined, { interactive: false });
    await expect(failure).rejects.toBeInstanceOf(UsageError);
    await expect(failure).rejects.toThrow(/--connection/);
  });

  it('with several on a terminal: asks, offering every connection', async () => {
    const offered: string[][] = [];
    const chosen = await chooseConnection(connections, undefined, { interactive: true, select: async (names) => (offered.push(names), 'salesforce') });
    expect(chosen).toBe('sf');
    expect(offered).toEqual([['dynamics', 'salesforce']]);
  });
});
