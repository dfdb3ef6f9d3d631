import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { MappingError } from '../sync/mapping/mapping-error.ts';
import { EXIT, UsageError } from './errors.ts';
import { registerStartCommand } from './start.ts';
import { registerSandboxCommand } from './sandbox.ts';
import { registerWebhooksCommand } from './webhooks.ts';
import { registerDevCommand } from './dev.ts';
import { registerSetupCommand } from './setup.ts';
import { registerMappingCommand } from './mapping.ts';
import { registerOperatorCommands } from './operate.ts';

const program = new Command()
  .name('cosell')
  .description('cosell-sync: keeps Partner Center co-sell referrals and CRM records in sync')
  .showHelpAfterError()
  .exitOverride();

registerStartCommand(program);
registerSandboxCommand(program);
registerWebhooksCommand(program);
registerDevCommand(program);
registerSetupCommand(program);
registerMappingCommand(program);
registerOperatorCommands(program);

try {
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
