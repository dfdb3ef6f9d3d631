import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { sqliteStoreConfig } from '../config/schema.ts';
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
      const { config } = await loadConfig(options.config);
      // A PostgreSQL store is backed up with the database's own tools (pg_dump), not by this command.
      const store = sqliteStoreConfig(config.store, 'cosell backup');
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
