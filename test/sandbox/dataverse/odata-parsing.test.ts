import { describe, expect, it } from 'vitest';
import { splitMultipart, parseEmbeddedRequest } from '../../../src/sandbox/dataverse/api/batch/multipart.ts';
import { compileFilter, type PropertyResolver } from '../../../src/sandbox/dataverse/odata/filter-compiler.ts';
import { parseFilter } from '../../../src/sandbox/dataverse/odata/filter-parser.ts';
import { parsePrefer } from '../../../src/sandbox/dataverse/odata/prefer.ts';
import { parseKeyPredicate, parsePathSegments } from '../../../src/sandbox/dataverse/odata/resource-path.ts';

type Row = Record<string, unknown>;
const types: Record<string, string> = { name: 'Edm.String', value: 'Edm.Decimal', due: 'Edm.Date', id: 'Edm.Guid', open: 'Edm.Boolean' };
const resolver: PropertyResolver<Row> = {
  resolve: ([name = '']) => {
    const type = types[name];
    if (!type) throw new Error(`unknown ${name}`);
    return { type, get: (row) => row[name] };
  },
};
const matches = (filter: string, row: Row): boolean => compileFilter(parseFilter(filter), resolver)(row);

describe('$filter', () => {
  const row = { name: 'Contoso Deal', value: 150, due: '2026-03-01', id: '5e1f0000-0000-0000-0000-000000000001', open: true };

  it('binds and tighter than or, honours not and parentheses', () => {
    expect(matches("name eq 'x' and value gt 1 or open", row)).toBe(true);
    expect(matches("name eq 'x' and (value gt 1 or open)", row)).toBe(false);
    expect(matches('not (value lt 100)', row)).toBe(true);
  });

  it('compares text case-insensitively, GUIDs unquoted, dates as dates, null explicitly', () => {
    expect(matches("name eq 'CONTOSO DEAL'", row)).toBe(true);
    expect(matches('id eq 5E1F0000-0000-0000-0000-000000000001', row)).toBe(true);
    expect(matches('due gt 2026-02-28T23:00:00Z and due lt 2026-03-02', row)).toBe(true);
    expect(matches('name eq null', { ...row, name: null })).toBe(true);
    expect(matches('value gt null', row)).toBe(false);
  });

  it('rejects incompatible operand types and malformed expressions', () => {
    expect(() => matches("value eq '150'", row)).toThrow(/incompatible types/);
    expect(() => matches("id eq '5e1f0000-0000-0000-0000-000000000001'", row)).toThrow(/incompatible types/);
    expect(() => parseFilter("name eq 'unterminated")).toThrow(/unterminated/);
    expect(() => parseFilter('(name eq 1')).toThrow(/expected '\)'/);
    expect(() => parseFilter('substringof(name,1)')).toThrow(/not supported/);
  });
});

describe('URL pieces', () => {
  it('splits paths with keys that contain slashes and quotes', () => {
    expect(parsePathSegments("opportunities(pcs_ref='a/b''c')/name")).toEqual([{ name: 'opportunities', key: "pcs_ref='a/b''c'" }, { name: 'name' }]);
    const key = parseKeyPredicate("pcs_ref='a/b''c',pcs_n=2");
    expect(key.kind === 'alternate' && Object.fromEntries(key.values)).toEqual({ pcs_ref: "a/b'c", pcs_n: 2 });
    expect(parseKeyPredicate('{5E1F0000-0000-0000-0000-000000000001}')).toEqual({ kind: 'id', id: '5e1f0000-0000-0000-0000-000000000001' });
  });

  it('reads several preferences from one Prefer header', () => {
    const prefer = parsePrefer('odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.*", odata.maxpagesize=50, return=representation');
    expect(prefer).toMatchObject({ includeAnnotations: 'OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.*', maxPageSize: 50, returnRepresentation: true });
  });

  it('parses a documented $batch body with LF line endings', () => {
    const body = ['--batch_A', 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', 'POST /api/data/v9.2/tasks HTTP/1.1', 'Content-Type: application/json; type=entry', '', '{"subject":"Task 1"}', '--batch_A--', ''].join('\n');
    const [part] = splitMultipart(body, 'batch_A');
    const request = parseEmbeddedRequest(part?.body ?? '');
    expect(request).toMatchObject({ method: 'POST', target: '/api/data/v9.2/tasks', body: '{"subject":"Task 1"}' });
    expect(request.headers.get('content-type')).toBe('application/json; type=entry');
  });
});
