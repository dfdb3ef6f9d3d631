import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SecretResolutionError,
  describeSecretRef,
  resolveSecret,
  secretRefSchema,
  type SecretRefInput,
} from '../../../src/config/secrets.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cosell-secrets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('secretRefSchema', () => {
  it('accepts the object form and the string shorthand, both as objects', () => {
    expect(secretRefSchema.parse({ env: 'PC_CLIENT_SECRET' })).toEqual({ env: 'PC_CLIENT_SECRET' });
    expect(secretRefSchema.parse({ file: '/run/secrets/pc' })).toEqual({ file: '/run/secrets/pc' });
    expect(secretRefSchema.parse('env:PC_CLIENT_SECRET')).toEqual({ env: 'PC_CLIENT_SECRET' });
    expect(secretRefSchema.parse('file:/run/secrets/pc')).toEqual({ file: '/run/secrets/pc' });
  });

  it.each([
    ['a literal secret', 'hunter2'],
    ['an empty env name', 'env:'],
    ['an invalid env name', 'env:NOT-VALID'],
    ['an empty file path', 'file:'],
    ['both keys', { env: 'A', file: '/b' }],
    ['an unknown key', { vault: 'x' }],
  ])('rejects %s', (_name, value) => {
    expect(secretRefSchema.safeParse(value).success).toBe(false);
  });

  it('explains the accepted forms when given a bare string', () => {
    const result = secretRefSchema.safeParse('hunter2');
    expect(result.error?.issues.some((issue) => issue.message.includes('"env:NAME" or "file:/path"'))).toBe(true);
  });
});

describe('resolveSecret', () => {
  it('reads and trims an environment variable', async () => {
    expect(await resolveSecret({ env: 'PC_SECRET' }, { env: { PC_SECRET: '  s3cr3t\n' } })).toBe('s3cr3t');
    expect(await resolveSecret('env:PC_SECRET', { env: { PC_SECRET: 'x1' } })).toBe('x1');
  });

  it('reads and trims a file', async () => {
    const file = join(dir, 'secret.txt');
    await writeFile(file, 'from-file\n');
    expect(await resolveSecret({ file })).toBe('from-file');
    expect(await resolveSecret(`file:${file}`)).toBe('from-file');
  });

  it('names the missing or empty variable, never a value', async () => {
    await expect(resolveSecret({ env: 'PC_MISSING' }, { env: {} })).rejects.toThrow('environment variable PC_MISSING is not set or empty');
    await expect(resolveSecret({ env: 'PC_BLANK' }, { env: { PC_BLANK: '   ' } })).rejects.toThrow(SecretResolutionError);
  });

  it('names the unreadable or empty file and the reason', async () => {
    const missing = join(dir, 'nope.txt');
    await expect(resolveSecret({ file: missing })).rejects.toThrow(`cannot read secret file ${missing} (ENOENT)`);
    const empty = join(dir, 'empty.txt');
    await writeFile(empty, '\n\n');
    await expect(resolveSecret({ file: empty })).rejects.toThrow(`secret file ${empty} is empty`);
    // A directory is unreadable as a file for every user, root included (this box runs tests as root, so a chmod 000
    // file would be readable).
    const error = await resolveSecret({ file: dir }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SecretResolutionError);
    expect((error as Error).message).toContain(`cannot read secret file ${dir} (EISDIR)`);
  });

  it('rejects an invalid reference without echoing it as a value', async () => {
    // Config arrives untyped, so the runtime check matters even though the type forbids this.
    const literal = 'hunter2' as SecretRefInput;
    const error = await resolveSecret(literal).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SecretResolutionError);
    expect((error as Error).message).toMatch(/invalid secret reference: expected \{ env: NAME \}/);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('describes a reference without its value', () => {
    expect(describeSecretRef({ env: 'A' })).toBe('env:A');
    expect(describeSecretRef({ file: '/x' })).toBe('file:/x');
  });
});
