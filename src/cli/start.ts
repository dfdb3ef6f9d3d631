import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { checkConfigResources } from '../config/preflight.ts';
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
      const service = await startService(config, logger, { configSource: source });
      await untilSignal(logger);
      await stopWithin(() => service.close(), logger, service.closingStep);
      logger.info('stopped');
    });
}
