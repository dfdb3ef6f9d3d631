import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { parseConfig } from '../config/load.ts';
import { sandboxConfig, SANDBOX_ADMIN_TOKEN, SANDBOX_DYNAMICS_WEBHOOK_SECRET, SANDBOX_PORTS } from '../config/sandbox-preset.ts';
import { startDataverseSandbox } from '../sandbox/dataverse/index.ts';
import { startSalesforceSandbox } from '../sandbox/salesforce/index.ts';
import { DYNAMICS_WEBHOOK_PATH, runDynamicsSetup, runSalesforceSetup } from './setup.ts';
import { partnerCenterClients } from '../partner-center/from-config.ts';
import { REFERRAL_EVENT_NAMES } from '../partner-center/webhook-event.ts';
import { RegistrationExistsError } from '../partner-center/webhooks-client.ts';
import { startService } from '../service.ts';
import { createLogger, type Logger } from '../util/logger.ts';
import { startSandboxPartnerCenter } from './sandbox.ts';
import { seedCoSellDemoDeals } from './demo-deals.ts';
import { UsageError } from './errors.ts';
import { stopWithin, untilSignal } from './signals.ts';
import { WEBHOOK_PATH } from '../partner-center/webhook-event.ts';
import { TEST_EVENT } from './webhooks.ts';

const SAMPLE_REFERRALS = [
  { name: 'Contoso — Dynamics 365 supply chain rollout', customer: 'Contoso Ltd', city: 'Redmond', postalCode: '98052', value: 250000 },
  { name: 'Fabrikam — Azure migration', customer: 'Fabrikam Inc', city: 'Seattle', postalCode: '98101', value: 120000 },
  { name: 'Northwind — Copilot adoption', customer: 'Northwind Traders', city: 'Portland', postalCode: '97201', value: 60000 },
];

async function seedIncomingReferrals(sandboxUrl: string, logger: Logger): Promise<void> {
  for (const sample of SAMPLE_REFERRALS) {
    const response = await fetch(`${sandboxUrl}/_sandbox/referrals/incoming`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: sample.name,
        customerProfile: {
          name: sample.customer,
          address: { addressLine1: '1 Main Street', city: sample.city, state: 'WA', postalCode: sample.postalCode, country: 'US' },
        },
        details: { dealValue: sample.value, currency: 'USD' },
      }),
    });
    if (!response.ok) throw new Error(`seeding a sandbox referral failed: HTTP ${response.status} ${await response.text()}`);
    const referral = (await response.json()) as { id: string };
    logger.info({ referralId: referral.id, name: sample.name }, 'seeded incoming referral');
  }
}

function parsePortBase(value: string): number {
  const base = Number.parseInt(value, 10);
  if (!/^\d+$/.test(value) || base < 1 || base > 65_531) throw new UsageError('--port-base must be a port number from 1 to 65531');
  return base;
}

/** The default ports, or base … base+4 (service, Partner Center, Dataverse, Salesforce, admin). */
function portsFrom(base: number | undefined): Record<keyof typeof SANDBOX_PORTS, number> {
  if (base === undefined) return { ...SANDBOX_PORTS };
  return { service: base, partnerCenter: base + 1, dataverse: base + 2, salesforce: base + 3, admin: base + 4 };
}

/** Writes a random secret the first time; afterwards keeps it, and keeps it private (0600). */
function ensureSecretFile(path: string, bytes: number): void {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytes(bytes).toString('base64url'), { mode: 0o600 });
  }
  chmodSync(path, 0o600);
}

/**
 * `npm start`: the whole system on one machine with no configuration — Partner Center sandbox, the service, the
 * webhook registered, a few referrals shared "by Microsoft" and, in each CRM, two co-sell deals (with and without a
 * Microsoft solution; see demo-deals.ts) — so a new user sees verified events and a co-sell engagement within a minute.
 */
export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('sandbox mode: run the sandboxes and the service together, registered and seeded (what npm start runs)')
    .option('--no-seed', 'do not seed sample referrals and co-sell deals')
    .option('--port-base <port>', `ports base … base+4 for the service, Partner Center, Dataverse, Salesforce and the admin listener (default ${SANDBOX_PORTS.service}-${SANDBOX_PORTS.salesforce} and ${SANDBOX_PORTS.admin})`, parsePortBase)
    .action(async (options: { seed: boolean; portBase?: number }) => {
      const ports = portsFrom(options.portBase);
      const config = parseConfig('(sandbox mode)', sandboxConfig({ servicePort: ports.service, adminPort: ports.admin, partnerCenterPort: ports.partnerCenter, dataversePort: ports.dataverse, salesforcePort: ports.salesforce }));
      const logger = createLogger({ level: config.log.level, pretty: config.log.pretty });
      ensureSecretFile(SANDBOX_DYNAMICS_WEBHOOK_SECRET, 24);
      // The admin listener's token: generated once, readable by this user only; the CLI finds it through the sandbox
      // config, the dashboard asks for it once.
      ensureSecretFile(SANDBOX_ADMIN_TOKEN, 32);
      const sandbox = await startSandboxPartnerCenter(logger, ports.partnerCenter);
      const dataverse = await startDataverseSandbox({
        port: ports.dataverse,
        logger: logger.child({ component: 'sandbox:dataverse' }),
      });
      const salesforce = await startSalesforceSandbox({
        port: ports.salesforce,
        logger: logger.child({ component: 'sandbox:salesforce' }),
      });
      const closeSandboxes = async () => {
        await sandbox.close();
        await dataverse.close();
        await salesforce.close();
      };
      const service = await (async () => {
        await runDynamicsSetup(config, logger.child({ component: 'setup' }), `${config.server.publicUrl}${DYNAMICS_WEBHOOK_PATH}`);
        await runSalesforceSetup(config, logger.child({ component: 'setup' }));
        // No component here: the service's parts (worker, reconciler, sync, connectors) name theirs.
        return startService(config, logger, { configSource: '(sandbox mode)' });
      })().catch(async (error: unknown) => {
        await closeSandboxes();
        throw error;
      });

      const { webhooks } = await partnerCenterClients(config.partnerCenter, { logger });
      const registration = {
        webhookUrl: `${service.url}${WEBHOOK_PATH}`,
        webhookEvents: [...REFERRAL_EVENT_NAMES, TEST_EVENT],
      };
      try {
        await webhooks.register(registration);
      } catch (error) {
        if (!(error instanceof RegistrationExistsError)) throw error;
        await webhooks.updateRegistration(registration);
      }
      logger.info({ url: registration.webhookUrl, events: registration.webhookEvents }, 'webhook registered with the sandbox');
      if (options.seed) {
        await seedIncomingReferrals(sandbox.url, logger);
        await seedCoSellDemoDeals(config, logger);
      }

      process.stderr.write(
        [
          '',
          'cosell-sync is running in sandbox mode.',
          `  Webhooks (public)      ${service.url}/webhooks/…   health: ${service.url}/healthz`,
          `  Dashboard (admin)      ${service.adminUrl}/   log in with the token in ${SANDBOX_ADMIN_TOKEN}`,
          `  Admin API              ${service.adminUrl}/api/status   (Authorization: Bearer <that token>)`,
          `  Metrics, readiness     ${service.adminUrl}/metrics   ${service.adminUrl}/readyz`,
          `  Partner Center sandbox ${sandbox.url}/v1.0/engagements/referrals   (any bearer token)`,
          `  Dataverse sandbox      ${dataverse.url}/api/data/v9.2/opportunities   (any bearer token)`,
          `  Opportunities (seller) ${dataverse.url}/_sandbox/records/opportunities`,
          `  Salesforce sandbox     ${salesforce.url}/services/data/v62.0/   (OAuth at /services/oauth2/token)`,
          `  Opportunities (seller) ${salesforce.url}/_sandbox/records/Opportunity`,
          '',
          'Try, in another terminal:',
          '  npx cosell webhooks show',
          '  npx cosell status',
          '  npx cosell webhooks test   then   npx cosell webhooks test-status',
          '  npx cosell dead-letters    npx cosell conflicts      (the CLI reads the admin token itself)',
          `  curl -s ${service.adminUrl}/api/events -H "Authorization: Bearer $(cat ${SANDBOX_ADMIN_TOKEN})"`,
          `  curl -s -XPOST ${sandbox.url}/_sandbox/referrals/incoming -H 'content-type: application/json' -d '{"name":"My deal"}'`,
          '',
          'Ctrl+C stops everything.',
          '',
        ].join('\n'),
      );

      await untilSignal(logger);
      await stopWithin(() => service.close(), logger, service.closingStep);
      await closeSandboxes();
    });
}
