import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { isCrmEntityName, type CrmEntityName } from '../crm/connector.ts';
import { partnerCenterClients } from '../partner-center/from-config.ts';
import { openStoreToRead } from '../store/open.ts';
import { loadConnections } from '../sync/engine.ts';
import { MappingPreviewError, previewMapping } from '../sync/mapping-preview.ts';
import { UsageError } from './errors.ts';
import { chooseConnection, renderPreview } from './mapping-preview-view.ts';
import { commandLogger, printResult } from './output.ts';

interface PreviewOptions {
  config?: string;
  referral?: string;
  crm?: string;
  connection?: string;
  json?: boolean;
}

export function registerMappingCommand(program: Command): void {
  const mapping = program.command('mapping').description('check and preview field mappings');

  mapping
    .command('check')
    .description("validate the mapping files against the CRMs' live metadata (exit code 2 on any problem)")
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .option('--json', 'print JSON')
    .action(async (options: { config?: string; json?: boolean }) => {
      const { config } = await loadConfig(options.config);
      const logger = commandLogger(config.log);
      const connections = await loadConnections(config, logger);
      if (connections.size === 0) throw new UsageError('no CRM connection is configured: nothing to check');
      const summary = [...connections.values()].map((c) => ({
        connection: c.connector.name,
        file: c.spec.file,
        entities: Object.fromEntries(Object.entries(c.spec.entities).map(([name, e]) => [name, e?.fields.length ?? 0])),
      }));
      printResult(options.json === true, { ok: true, connections: summary }, () =>
        summary
          .map((s) => `✔ ${s.connection}: ${s.file} is valid (${Object.entries(s.entities).map(([e, n]) => `${e} ${n} fields`).join(', ')})`)
          .join('\n'),
      );
    });

  mapping
    .command('preview')
    .description('show what each side would receive for a real record — for a referral with no CRM record yet, every column its create would write — writes nothing')
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .option('--referral <id>', 'a Partner Center referral id')
    .option('--crm <entity:id>', 'a CRM record, e.g. opportunity:00000000-0000-0000-0000-000000000001')
    .option('--connection <name>', 'which CRM connection (required when several are configured and there is no terminal to ask on)')
    .option('--json', 'print JSON')
    .action(async (options: PreviewOptions) => {
      if ((options.referral === undefined) === (options.crm === undefined)) throw new UsageError('give exactly one of --referral or --crm');
      const { config } = await loadConfig(options.config);
      const logger = commandLogger(config.log);
      const connections = await loadConnections(config, logger);
      const connection = await chooseConnection(connections, options.connection);
      const { referrals } = await partnerCenterClients(config.partnerCenter, { logger });
      const store = await openStoreToRead(config);
      try {
        let crm: { entity: CrmEntityName; id: string } | undefined;
        if (options.crm) {
          const [entity, id] = options.crm.split(':');
          if (!entity || !id) throw new UsageError('--crm must be <entity>:<id>, e.g. opportunity:<guid>');
          if (!isCrmEntityName(entity)) throw new UsageError(`the mapping has no ${entity} section`);
          crm = { entity, id };
        }
        const result = await previewMapping({ connection, referrals, sync: store?.sync, referralId: options.referral, crm }).catch((error: unknown) => {
          throw error instanceof MappingPreviewError ? new UsageError(error.message) : error;
        });
        printResult(options.json === true, result, () => renderPreview(result));
      } finally {
        await store?.close();
      }
    });
}
