import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../support/tmp.ts';

const REPO = resolve(import.meta.dirname, '../../..');

/** bin/cosell.js in a scratch checkout whose dist/ and src/ entry points only say which one ran. */
describe('bin/cosell.js', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  beforeAll(() => {
    cpSync(join(REPO, 'bin'), join(tmp.path, 'bin'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(tmp.path, 'node_modules'));
    writeFileSync(join(tmp.path, 'package.json'), '{"type":"module"}\n');
    mkdirSync(join(tmp.path, 'src/cli'), { recursive: true });
    writeFileSync(join(tmp.path, 'src/cli/main.ts'), "const ran: string = 'src';\nconsole.log(ran);\n");
  });
  const run = (env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [join(tmp.path, 'bin/cosell.js')], { encoding: 'utf8', env: { ...process.env, COSELL_RUN: '', ...env } }).stdout.trim();
  const touch = (path: string, secondsAgo: number) => {
    const at = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(join(tmp.path, path), at, at);
  };

  it('runs the sources through tsx when there is no build', () => {
    expect(run()).toBe('src');
  });

  it('runs dist/ when it is newer than every source file, the sources once one is edited after the build', () => {
    mkdirSync(join(tmp.path, 'dist/cli'), { recursive: true });
    writeFileSync(join(tmp.path, 'dist/cli/main.js'), "console.log('dist');\n");
    touch('src/cli/main.ts', 60);
    touch('dist/cli/main.js', 30);
    expect(run()).toBe('dist');
    touch('src/cli/main.ts', 0);
    expect(run()).toBe('src');
    expect(run({ COSELL_RUN: 'dist' })).toBe('dist');
  });
});
