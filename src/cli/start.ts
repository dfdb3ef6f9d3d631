import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { checkConfigResources } from './preflight.ts';
import { startService } from '../service.ts';
import { createLogger } from '../util/logger.ts';
import { stopWithin, untilSignal } from './signals.ts';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the sync service (webhook ingress, admin API, dashboard, metrics)')
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .action(async (options: { config?: string }) => {
      const loaded = await loadConfig(options.config);
      await checkConfigResources(loaded);
      const { config, source } = loaded;
      const logger = createLogger({ level: config.log.level, pretty: config.log.pretty });
      logger.info({ config: source }, 'starting cosell-sync');
      // Listening before the start-up: a SIGTERM while connections are still being made (a supervisor's stop, a
      // deploy) would otherwise meet whatever handler a library installed and leave the process running.
      const signalled = untilSignal(logger);
      const starting = startService(config, logger, { configSource: source });
      const first = await Promise.race([starting, signalled.then(() => undefined)]);
      if (first === undefined) {
        await stopWithin(async () => (await starting).close(), logger, () => 'starting up');
        return;
      }
      await signalled;
      await stopWithin(() => first.close(), logger, first.closingStep);
      logger.info('stopped');
    });
}
