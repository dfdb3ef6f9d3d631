import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { describeSecretRef } from '../config/secrets.ts';
import { createDynamicsConnector, dynamicsWebhookAuth } from '../crm/dynamics/factory.ts';
import { setupDynamics, type SetupReport } from '../crm/dynamics/provisioning.ts';
import { createSalesforceConnector, setupSalesforce } from '../crm/salesforce/index.ts';
import { outboundEndpointUrl, resolveOutboundSecret } from '../crm/salesforce/outbound-endpoint.ts';
import type { Logger } from '../util/logger.ts';
import { UsageError } from './errors.ts';
import { commandLogger, printResult } from './output.ts';

export const DYNAMICS_WEBHOOK_PATH = '/webhooks/dynamics';

/**
 * Custom columns, alternate key and change notifications for the configured Dataverse environment. Idempotent: a
 * second run finds everything and changes nothing.
 */
export async function runDynamicsSetup(config: Config, logger: Logger, webhookUrl: string | undefined): Promise<SetupReport> {
  if (!config.dynamics) throw new UsageError('no "dynamics" section in the configuration: nothing to set up');
  const connector = await createDynamicsConnector(config.dynamics, { logger });
  const auth = await dynamicsWebhookAuth(config.dynamics);
  if (webhookUrl && !auth) {
    throw new UsageError('dynamics.webhook.secret is not configured: Dataverse notifications need a shared secret');
  }
  return setupDynamics({
    connector,
    logger,
    ...(config.dynamics.solutionUniqueName ? { solutionUniqueName: config.dynamics.solutionUniqueName } : {}),
    ...(webhookUrl && auth ? { webhookUrl, webhookAuth: auth } : {}),
    ...(config.dynamics.webhook?.filteringAttributes ? { filteringAttributes: config.dynamics.webhook.filteringAttributes } : {}),
    onProgress: (p) => logger.info({ item: p.item, status: p.status, ...(p.detail ? { detail: p.detail } : {}) }, `setup: ${p.item} ${p.status}`),
  });
}

/**
 * Custom fields through the Tooling API; change notifications are org settings, printed as instructions. In
 * outbound-messages mode the instructions name the endpoint URL to configure, its secret masked unless `showSecret`.
 */
export async function runSalesforceSetup(
  config: Config,
  logger: Logger,
  options: { showSecret?: boolean } = {},
): Promise<{ created: string[]; found: string[]; updated: string[]; instructions: string[] }> {
  if (!config.salesforce) throw new UsageError('no "salesforce" section in the configuration: nothing to set up');
  const outboundSecret = config.salesforce.outboundMessageSecret;
  const webhookUrl =
    config.salesforce.notifications === 'outbound-messages' && outboundSecret
      ? outboundEndpointUrl(config.server.publicUrl, await resolveOutboundSecret(outboundSecret), options.showSecret === true)
      : undefined;
  const connector = await createSalesforceConnector(config.salesforce, { logger });
  const report = await setupSalesforce({
    connector,
    logger,
    notifications: config.salesforce.notifications,
    ...(webhookUrl ? { webhookUrl } : {}),
    ...(outboundSecret ? { webhookSecretSource: describeSecretRef(outboundSecret), webhookSecretShown: options.showSecret === true } : {}),
    onProgress: (p) => logger.info({ ...p }, `setup: ${p.item} ${p.status}`),
  });
  await connector.close?.();
  return { created: report.created, found: report.found, updated: report.updated, instructions: [...report.instructions] };
}

export function registerSetupCommand(program: Command): void {
  const setup = program.command('setup').description('prepare a CRM for syncing (custom fields, keys, change notifications)');
  setup
    .command('salesforce')
    .description('create the custom fields (Tooling API) and print the org settings change notifications need')
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .option('--show-secret', 'print the Outbound Message endpoint URL with its secret (masked by default)')
    .option('--json', 'print JSON')
    .action(async (options: { config?: string; json?: boolean; showSecret?: boolean }) => {
      const { config } = await loadConfig(options.config);
      const logger = commandLogger(config.log);
      const report = await runSalesforceSetup(config, logger, { showSecret: options.showSecret === true });
      printResult(options.json === true, report, () =>
        [
          `Created (${report.created.length}): ${report.created.join(', ') || '-'}`,
          `Found   (${report.found.length}): ${report.found.join(', ') || '-'}`,
          ...(report.updated.length ? [`Updated (${report.updated.length}): ${report.updated.join(', ')}`] : []),
          ...(report.instructions.length ? ['', 'Then, in Salesforce Setup:', ...report.instructions.map((i) => `  - ${i}`)] : []),
        ].join('\n'),
      );
    });
  setup
    .command('dynamics')
    .description('create the custom columns and alternate key, publish, and register the webhook endpoint and steps')
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .option('--webhook-url <url>', `where Dataverse posts changes (default: server.publicUrl + ${DYNAMICS_WEBHOOK_PATH})`)
    .option('--no-webhook', 'only the columns and key; no webhook registration')
    .option('--json', 'print JSON')
    .action(async (options: { config?: string; webhookUrl?: string; webhook: boolean; json?: boolean }) => {
      const { config } = await loadConfig(options.config);
      const logger = commandLogger(config.log);
      const url = options.webhook
        ? (options.webhookUrl ?? (config.server.publicUrl ? `${config.server.publicUrl.replace(/\/+$/, '')}${DYNAMICS_WEBHOOK_PATH}` : undefined))
        : undefined;
      if (options.webhook && url === undefined) {
        throw new UsageError('--webhook-url is required (or set server.publicUrl), or pass --no-webhook');
      }
      const report = await runDynamicsSetup(config, logger, url);
      printResult(options.json === true, report, () =>
        [
          `Created (${report.created.length}): ${report.created.join(', ') || '-'}`,
          `Found   (${report.found.length}): ${report.found.join(', ') || '-'}`,
          ...(report.updated.length ? [`Updated (${report.updated.length}): ${report.updated.join(', ')}`] : []),
          ...(report.published.length ? [`Published: ${report.published.join(', ')}`] : []),
        ].join('\n'),
      );
    });
}
