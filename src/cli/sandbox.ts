import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../sandbox/partner-center/index.ts';
import { startDataverseSandbox } from '../sandbox/dataverse/index.ts';
import { startSalesforceSandbox } from '../sandbox/salesforce/index.ts';
import { SANDBOX_DATA_DIR, SANDBOX_PORTS, SANDBOX_ROOT_CERTIFICATE } from '../config/sandbox-preset.ts';
import { createLogger, type Logger } from '../util/logger.ts';
import { UsageError } from './errors.ts';
import { untilSignal } from './signals.ts';

const SANDBOXES = ['partner-center', 'dataverse', 'salesforce'] as const;
type SandboxName = (typeof SANDBOXES)[number];

/**
 * Starts the Partner Center sandbox with its CA persisted under data/sandbox, and writes the root certificate where
 * the sandbox-mode service looks for its trust anchor.
 */
export async function startSandboxPartnerCenter(
  logger: Logger,
  port: number = SANDBOX_PORTS.partnerCenter,
  host = '127.0.0.1',
): Promise<PartnerCenterSandbox> {
  const sandbox = await startPartnerCenterSandbox({
    port,
    host,
    logger: logger.child({ component: 'sandbox:partner-center' }),
    stateDir: `${SANDBOX_DATA_DIR}/partner-center`,
    // Strict, as Partner Center: co-sell needs a solution and the connected Microsoft referral, and an unaccepted
    // incoming referral takes only an accept or a decline.
    strictCoSell: true,
  });
  mkdirSync(dirname(SANDBOX_ROOT_CERTIFICATE), { recursive: true });
  writeFileSync(SANDBOX_ROOT_CERTIFICATE, sandbox.rootCertificatePem);
  return sandbox;
}

export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description(`run local sandboxes that speak the vendors' wire protocols (${SANDBOXES.join(', ')}; default: all)`)
    .argument('[name]', 'which sandbox to run')
    .option('-p, --port <port>', 'port (only with a single sandbox)', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .action(async (name: string | undefined, options: { port?: number; host: string }) => {
      if (name !== undefined && !(SANDBOXES as readonly string[]).includes(name)) {
        throw new UsageError(`unknown sandbox "${name}"; choose one of: ${SANDBOXES.join(', ')}`);
      }
      if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
        throw new UsageError('--port must be a port number');
      }
      const selected: SandboxName[] = name ? [name as SandboxName] : [...SANDBOXES];
      const logger = createLogger({});
      const closers: Array<() => Promise<void>> = [];
      for (const sandboxName of selected) {
        if (sandboxName === 'dataverse') {
          const sandbox = await startDataverseSandbox({
            port: options.port ?? SANDBOX_PORTS.dataverse,
            host: options.host,
            logger: logger.child({ component: 'sandbox:dataverse' }),
          });
          closers.push(() => sandbox.close());
          logger.info({ url: sandbox.url }, `Dataverse sandbox: ${sandbox.url}/api/data/v9.2/`);
        }
        if (sandboxName === 'salesforce') {
          const sandbox = await startSalesforceSandbox({
            port: options.port ?? SANDBOX_PORTS.salesforce,
            host: options.host,
            logger: logger.child({ component: 'sandbox:salesforce' }),
          });
          closers.push(() => sandbox.close());
          logger.info({ url: sandbox.url, organizationId: sandbox.organizationId }, `Salesforce sandbox: ${sandbox.url}/services/data/v62.0/`);
        }
        if (sandboxName === 'partner-center') {
          const sandbox = await startSandboxPartnerCenter(logger, options.port ?? SANDBOX_PORTS.partnerCenter, options.host);
          closers.push(() => sandbox.close());
          logger.info(
            { url: sandbox.url, rootCertificate: SANDBOX_ROOT_CERTIFICATE },
            `Partner Center sandbox: ${sandbox.url}/v1.0/engagements/referrals`,
          );
        }
      }
      await untilSignal(logger);
      for (const close of closers) await close();
    });
}
