import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, requestedCommand } from '../../../src/cli/commands.ts';
import { makeTempDir } from '../../support/tmp.ts';

const REPO = resolve(import.meta.dirname, '../../..');

/** Runs the CLI from its sources and returns its output and the source files it loaded (see module-trace.mjs). */
async function loadedModules(args: string[]): Promise<{ stdout: string; sources: string[] }> {
  const tmp = makeTempDir('cosell-trace-');
  try {
    const trace = join(tmp.path, 'modules.txt');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--import', './test/support/module-trace.mjs', 'src/cli/main.ts', ...args],
      { cwd: REPO, env: { ...process.env, COSELL_MODULE_TRACE: trace } },
    );
    const sources = readFileSync(trace, 'utf8').split('\n').flatMap((url) => (url.includes('/src/') ? [url.slice(url.lastIndexOf('/src/') + 1)] : []));
    return { stdout, sources };
  } finally {
    tmp.cleanup();
  }
}

describe('the lazily loaded command table', () => {
  it('names every command its modules define, with the same description, and nothing else', async () => {
    const program = new Command();
    const registered = new Set<(p: Command) => void>();
    for (const entry of COMMANDS) {
      const register = await entry.register();
      // operate.ts defines several commands with one function: register it once.
      if (!registered.has(register)) register(program);
      registered.add(register);
    }
    const defined = program.commands.map((c) => ({ name: c.name(), summary: c.description() }));
    const table = COMMANDS.map((e) => ({ name: e.name, summary: e.summary }));
    expect(defined.sort((a, b) => a.name.localeCompare(b.name))).toEqual(table.sort((a, b) => a.name.localeCompare(b.name)));
  });

  it('finds the command being run, after options and through `help`', () => {
    expect(requestedCommand(['start', '-c', 'cosell.yaml'])).toBe('start');
    expect(requestedCommand(['--help'])).toBeUndefined();
    expect(requestedCommand(['help', 'webhooks'])).toBe('webhooks');
    expect(requestedCommand(['-h', 'mapping', 'check'])).toBe('mapping');
    expect(requestedCommand([])).toBeUndefined();
  });

  // Two CLI start-ups under tsx; generous for a busy machine.
  it('`cosell --help` lists the commands without loading any sandbox module', { timeout: 90_000 }, async () => {
    const help = await loadedModules(['--help']);
    expect(help.stdout).toContain('Usage: cosell');
    expect(help.sources).toContain('src/cli/main.ts');
    expect(help.sources.filter((file) => file.startsWith('src/sandbox/'))).toEqual([]);
    // The trace does see sandbox modules when a command needs them: `cosell sandbox --help` loads the command's module.
    const sandbox = await loadedModules(['sandbox', '--help']);
    expect(sandbox.sources.some((file) => file.startsWith('src/sandbox/'))).toBe(true);
  });
});
