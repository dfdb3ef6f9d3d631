import { describe, expect, it } from 'vitest';
import { buildJsonPatch, escapePointerSegment } from '../../../src/partner-center/json-patch.ts';
import { DOC_PATCH_BODY } from './doc-samples.ts';

describe('buildJsonPatch', () => {
  it('reproduces the documented PATCH sample from a field change set', () => {
    const patch = buildJsonPatch([
      { path: ['details', 'dealValue'], value: '10000' },
      {
        path: ['team', '-'],
        value: { email: 'jane.doe@contoso.com', firstName: 'Jane', lastName: 'Doe', phoneNumber: '0000000001' },
      },
    ]);
    expect(patch).toEqual(DOC_PATCH_BODY);
  });

  it('accepts segments, JSON Pointers and dotted paths alike', () => {
    const patch = buildJsonPatch([
      { path: ['status'], value: 'Closed' },
      { path: '/substatus', value: 'Won' },
      { path: 'details.notes', value: 'n' },
    ]);
    expect(patch.map((op) => op.path)).toEqual(['/status', '/substatus', '/details/notes']);
    expect(patch.every((op) => op.op === 'replace')).toBe(true);
  });

  it('escapes ~ before / in segments (RFC 6901)', () => {
    expect(escapePointerSegment('a/b~c')).toBe('a~1b~0c');
    expect(escapePointerSegment('~1')).toBe('~01');
    const [op] = buildJsonPatch([{ path: ['details', 'custom/field~x'], value: 1 }]);
    expect(op?.path).toBe('/details/custom~1field~0x');
  });

  it('round-trips an escaped JSON Pointer string unchanged', () => {
    const [op] = buildJsonPatch([{ path: '/details/custom~1field~0x', value: 1 }]);
    expect(op?.path).toBe('/details/custom~1field~0x');
  });

  it('uses add for appends and honours an explicit add', () => {
    const [append, add] = buildJsonPatch([
      { path: '/team/-', value: { email: 'a@b.c' } },
      { path: ['details', 'requirements', 'solutions'], value: [], op: 'add' },
    ]);
    expect(append).toEqual({ op: 'add', path: '/team/-', value: { email: 'a@b.c' } });
    expect(add?.op).toBe('add');
  });

  it('keeps null values (clearing a field) in the operation', () => {
    expect(buildJsonPatch([{ path: 'details.closingDateTime', value: null }])).toEqual([
      { op: 'replace', path: '/details/closingDateTime', value: null },
    ]);
  });

  it.each([
    ['replace with an append segment', { path: '/team/-', value: 1, op: 'replace' as const }, /needs op "add"/],
    ['an undefined value', { path: '/name', value: undefined }, /value is undefined/],
    ['an empty path', { path: [], value: 1 }, /empty path/],
    ['the root pointer', { path: '/', value: 1 }, /empty path/],
    ['an empty segment', { path: 'details..notes', value: 1 }, /empty path/],
    ['a bad escape', { path: '/a~2b', value: 1 }, /invalid JSON Pointer escape/],
    ['an unsupported op', { path: '/name', value: 1, op: 'remove' as 'add' }, /unsupported op "remove"/],
  ])('rejects %s', (_name, change, message) => {
    expect(() => buildJsonPatch([change])).toThrow(message);
  });
});
