import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, requestedCommand } from '../../../src/cli/commands.ts';

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
});
