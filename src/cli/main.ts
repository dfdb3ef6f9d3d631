import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { MappingError } from '../sync/mapping/mapping-error.ts';
import { COMMANDS, requestedCommand, type CommandEntry } from './commands.ts';
import { EXIT, UsageError } from './errors.ts';
import { useProxyFromEnvironment } from './proxy.ts';

/** package.json sits two folders up from both src/cli/main.ts and its compiled dist/cli/main.js. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

const program = new Command()
  .name('cosell')
  .description('cosell-sync: keeps Partner Center co-sell referrals and CRM records in sync')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride();

/**
 * Only the module of the command being run is loaded. Without a known command (`cosell`, `cosell --help`, a typo) the
 * program gets every command's name and summary, which is all the top-level help and the "unknown command" error use.
 */
async function registerCommands(entries: readonly CommandEntry[], requested: string | undefined): Promise<void> {
  const entry = entries.find((e) => e.name === requested);
  if (entry === undefined) {
    for (const e of entries) program.command(e.name).description(e.summary);
    return;
  }
  let register: (program: Command) => void;
  try {
    register = await entry.register();
  } catch (error) {
    if (entry.needsDevDependencies && isModuleNotFound(error)) {
      throw new UsageError(
        `"${entry.name}" runs the sandboxes, which need the development dependencies (npm install without --omit=dev): ${(error as Error).message}`,
      );
    }
    throw error;
  }
  register(program);
  // Before any command makes a request; not for --help, which makes none.
  await useProxyFromEnvironment();
  if (entry.interactive) (await import('../http/outbound.ts')).useInteractiveLimits();
}

function isModuleNotFound(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
}

try {
  await registerCommands(COMMANDS, requestedCommand(process.argv.slice(2)));
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
      return EXIT.ok;
    }
    return EXIT.usage;
  }
  if (error instanceof MappingError) {
    process.stderr.write(`cosell: invalid mapping:\n${error.issues.map((i) => `  ${i.file}${i.path ? ` at ${i.path}` : ''}: ${i.reason}`).join('\n')}\n`);
    if (error.issues.some((i) => i.reason.startsWith('unknown column'))) {
      process.stderr.write('hint: the custom columns are created by "cosell setup dynamics"\n');
    }
    return EXIT.usage;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`cosell: invalid configuration: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`cosell: ${error.message}\n`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`cosell: ${message}\n`);
  return EXIT.failure;
}
