import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from '../../../src/server/json-depth.ts';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('jsonDepthExceeds', () => {
  it('counts arrays and objects alike, up to the limit inclusive', () => {
    expect(jsonDepthExceeds(bytes(nested(64)), 64)).toBe(false);
    expect(jsonDepthExceeds(bytes(nested(65)), 64)).toBe(true);
    expect(jsonDepthExceeds(bytes('{"a":{"b":[{"c":1}]}}'), 4)).toBe(false);
    expect(jsonDepthExceeds(bytes('{"a":{"b":[{"c":1}]}}'), 3)).toBe(true);
  });

  it('decides 20,000 levels without recursion', () => {
    expect(jsonDepthExceeds(bytes(`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`), 64)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDepthExceeds(bytes(JSON.stringify({ note: '['.repeat(1000) })), 2)).toBe(false);
    expect(jsonDepthExceeds(bytes(JSON.stringify({ note: `\\"${'{'.repeat(100)}` })), 2)).toBe(false);
    expect(jsonDepthExceeds(bytes(JSON.stringify([{ a: '"' }, [[['x']]]])), 3)).toBe(true);
  });

  it('depth returns to zero between siblings', () => {
    expect(jsonDepthExceeds(bytes(`[${Array.from({ length: 100 }, () => nested(3)).join(',')}]`), 4)).toBe(false);
  });
});
