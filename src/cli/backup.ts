import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../config/errors.ts';
import { BackupRefusedError, backupDatabase } from '../store/sqlite/backup.ts';
import { UsageError } from './errors.ts';
import { printResult } from './output.ts';

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description('copy the store to a file while the service runs (a consistent snapshot, mode 0600)')
    .argument('<file>', 'where to write the copy (restore: stop the service, put the copy at store.path, start it)')
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .option('--force', 'replace the file if it exists')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { config?: string; force?: boolean; json?: boolean }) => {
      const { config, source } = await loadConfig(options.config);
      const store = config.store;
      // A PostgreSQL store is backed up with the database's own tools, which copy it consistently while it is in use.
      if (store.driver !== 'sqlite') {
        throw new ConfigError(
          source,
          'store.driver',
          `cosell backup copies the SQLite store only, and store.driver is ${store.driver}: back the database up with pg_dump ` +
            '(e.g. pg_dump --format=custom --file=cosell.dump <database>) and restore it with pg_restore (see README, "Several instances on PostgreSQL")',
        );
      }
      if (store.path === ':memory:') throw new UsageError('store.path is :memory:, there is nothing to back up');
      let result;
      try {
        result = backupDatabase(store.path, file, { overwrite: options.force === true });
      } catch (error) {
        if (error instanceof BackupRefusedError) throw new UsageError(error.message);
        throw error;
      }
      printResult(options.json === true, { file, store: store.path, ...result }, () =>
        `backed up ${store.path} to ${file}: ${result.bytes} bytes, ${result.links} links, schema version ${result.schemaVersion}`,
      );
    });
}
