import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { SANDBOX_PORTS, SANDBOX_ROOT_CERTIFICATE } from '../config/sandbox-preset.ts';
import { partnerCenterClients } from '../partner-center/from-config.ts';
import { MappingError } from '../sync/mapping/mapping-error.ts';
import { loadConnections } from '../sync/engine.ts';
import { UsageError } from './errors.ts';
import { commandLogger } from './output.ts';
import { renderConfig, type InitAnswers } from './init-template.ts';

interface InitOptions {
  file: string;
  force?: boolean;
  crm?: string;
  sandbox?: boolean;
  publicUrl?: string;
  port?: string;
  tenantId?: string;
  partnerCenterClientId?: string;
  partnerCenterUrl?: string;
  dynamicsUrl?: string;
  dynamicsClientId?: string;
  salesforceUrl?: string;
  salesforceClientId?: string;
  check: boolean;
}

type Crm = 'dynamics' | 'salesforce';
const CRM_CHOICES = ['dynamics', 'salesforce', 'both'] as const;

/** Asks on a terminal; without one, a missing answer is a usage error naming the flag. */
type Ask = (question: { flag: string; message: string; default?: string; choices?: readonly string[]; validate?: (v: string) => string | true }) => Promise<string>;

async function asker(): Promise<Ask> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    return async ({ flag, default: fallback }) => {
      if (fallback !== undefined) return fallback;
      throw new UsageError(`${flag} is required (no terminal to ask on)`);
    };
  }
  // Loaded only here: a prompt library has no business in `cosell start`.
  const { input, select } = await import('@inquirer/prompts');
  return async ({ message, default: fallback, choices, validate }) =>
    choices
      ? select({ message, choices: choices.map((value) => ({ value })), ...(fallback ? { default: fallback } : {}) })
      : input({ message, ...(fallback ? { default: fallback } : {}), required: true, ...(validate ? { validate } : {}) });
}

const isUrl = (value: string): string | true => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? true : 'expected an http(s) URL';
  } catch {
    return 'expected a URL such as https://contoso.crm.dynamics.com';
  }
};

async function gather(options: InitOptions, ask: Ask): Promise<InitAnswers> {
  const crmChoice = options.crm ?? (await ask({ flag: '--crm <dynamics|salesforce|both>', message: 'Which CRM do you sync with?', choices: CRM_CHOICES }));
  if (!(CRM_CHOICES as readonly string[]).includes(crmChoice)) throw new UsageError(`--crm must be one of ${CRM_CHOICES.join(', ')}`);
  const crms: Crm[] = crmChoice === 'both' ? ['dynamics', 'salesforce'] : [crmChoice as Crm];
  const port = options.port === undefined ? SANDBOX_PORTS.service : Number(options.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError('--port must be a port number');
  const url = async (given: string | undefined, flag: string, message: string, fallback?: string) => {
    const value = given ?? (await ask({ flag, message, ...(fallback ? { default: fallback } : {}), validate: isUrl }));
    const problem = isUrl(value);
    if (problem !== true) throw new UsageError(`${flag.split(' ')[0]}: ${problem}`);
    return value.replace(/\/+$/, '');
  };
  const text = async (given: string | undefined, flag: string, message: string) => given ?? (await ask({ flag, message }));

  if (options.sandbox) {
    return {
      sandbox: true,
      crms,
      port,
      publicUrl: await url(options.publicUrl, '--public-url <url>', 'Public URL of this service', `http://127.0.0.1:${port}`),
      partnerCenterUrl: await url(options.partnerCenterUrl, '--partner-center-url <url>', 'Partner Center sandbox URL', `http://127.0.0.1:${SANDBOX_PORTS.partnerCenter}`),
      ...(crms.includes('dynamics')
        ? { dynamics: { url: await url(options.dynamicsUrl, '--dynamics-url <url>', 'Dataverse sandbox URL', `http://127.0.0.1:${SANDBOX_PORTS.dataverse}`) } }
        : {}),
      ...(crms.includes('salesforce')
        ? { salesforce: { url: await url(options.salesforceUrl, '--salesforce-url <url>', 'Salesforce sandbox URL', `http://127.0.0.1:${SANDBOX_PORTS.salesforce}`) } }
        : {}),
    };
  }
  return {
    sandbox: false,
    crms,
    port,
    publicUrl: await url(options.publicUrl, '--public-url <url>', 'Public https URL Partner Center and the CRM reach this service at'),
    tenantId: await text(options.tenantId, '--tenant-id <id>', 'Microsoft Entra tenant id (directory id)'),
    partnerCenterClientId: await text(options.partnerCenterClientId, '--partner-center-client-id <id>', 'Partner Center app registration client id'),
    ...(crms.includes('dynamics')
      ? {
          dynamics: {
            url: await url(options.dynamicsUrl, '--dynamics-url <url>', 'Dynamics 365 environment URL (https://ORG.crm.dynamics.com)'),
            clientId: await text(options.dynamicsClientId, '--dynamics-client-id <id>', 'Dataverse app registration client id'),
          },
        }
      : {}),
    ...(crms.includes('salesforce')
      ? {
          salesforce: {
            url: await url(options.salesforceUrl, '--salesforce-url <url>', 'Salesforce My Domain URL (https://ORG.my.salesforce.com)'),
            clientId: await text(options.salesforceClientId, '--salesforce-client-id <id>', 'External Client App consumer key'),
          },
        }
      : {}),
  };
}

interface CheckOutcome {
  ok: boolean;
  needsSetup: Crm[];
  lines: string[];
}

/** What `cosell mapping check` checks, per CRM (so one CRM's missing columns do not hide the other's state), plus Partner Center. */
async function checkConnections(config: Config, crms: Crm[]): Promise<CheckOutcome> {
  const logger = commandLogger(config.log);
  const outcome: CheckOutcome = { ok: true, needsSetup: [], lines: [] };
  try {
    const { webhooks } = await partnerCenterClients(config.partnerCenter, { logger });
    const registration = await webhooks.getRegistration();
    outcome.lines.push(`✔ Partner Center: connected (${registration ? `webhook registered at ${registration.webhookUrl}` : 'no webhook registered yet'})`);
  } catch (error) {
    outcome.ok = false;
    outcome.lines.push(`✘ Partner Center: ${(error as Error).message}`);
  }
  for (const crm of crms) {
    const only: Config = { ...config, dynamics: crm === 'dynamics' ? config.dynamics : undefined, salesforce: crm === 'salesforce' ? config.salesforce : undefined };
    try {
      const connections = await loadConnections(only, logger);
      for (const c of connections.values()) {
        outcome.lines.push(`✔ ${crm}: connected; ${c.spec.file} matches the CRM's fields`);
        await c.connector.close?.();
      }
    } catch (error) {
      if (error instanceof MappingError && error.issues.every((i) => i.reason.startsWith('unknown column') || i.reason.startsWith('unknown field'))) {
        outcome.needsSetup.push(crm);
        outcome.lines.push(`• ${crm}: connected; the custom ${crm === 'dynamics' ? 'columns' : 'fields'} do not exist yet (cosell setup ${crm} creates them)`);
      } else {
        outcome.ok = false;
        const detail = error instanceof MappingError ? error.issues.map((i) => `${i.path}: ${i.reason}`).join('; ') : (error as Error).message;
        outcome.lines.push(`✘ ${crm}: ${detail}`);
      }
    }
  }
  return outcome;
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('write a commented cosell.yaml for Dynamics and/or Salesforce, then check it against the CRM')
    .option('-f, --file <file>', 'where to write the configuration', 'cosell.yaml')
    .option('--force', 'overwrite an existing file')
    .option('--crm <crm>', `which CRM: ${CRM_CHOICES.join(', ')}`)
    .option('--sandbox', 'point at the local sandboxes (cosell sandbox) instead of Microsoft and a real CRM')
    .option('--public-url <url>', 'URL Partner Center and the CRM reach this service at')
    .option('--port <port>', `port the service listens on (default ${SANDBOX_PORTS.service})`)
    .option('--tenant-id <id>', 'Microsoft Entra tenant id')
    .option('--partner-center-client-id <id>', 'Partner Center app registration client id')
    .option('--partner-center-url <url>', 'sandbox only: the Partner Center sandbox URL')
    .option('--dynamics-url <url>', 'Dynamics 365 environment URL')
    .option('--dynamics-client-id <id>', 'Dataverse app registration client id')
    .option('--salesforce-url <url>', 'Salesforce My Domain URL')
    .option('--salesforce-client-id <id>', 'External Client App consumer key')
    .option('--no-check', 'write the file without connecting to anything')
    .action(async (options: InitOptions) => {
      if (existsSync(options.file) && !options.force) throw new UsageError(`${options.file} exists; --force overwrites it`);
      const answers = await gather(options, await asker());
      // Relative to the file, as every path in it: the sandbox writes its root certificate under the working folder.
      const rootCertificate = relative(dirname(resolve(options.file)), resolve(SANDBOX_ROOT_CERTIFICATE));
      writeFileSync(options.file, renderConfig(answers, { rootCertificate }), { mode: 0o600 });
      // Parsed back as `cosell start` will: an answer that makes the configuration invalid leaves no file behind.
      let config: Config;
      try {
        ({ config } = await loadConfig(options.file, {}));
      } catch (error) {
        rmSync(options.file, { force: true });
        throw error;
      }
      process.stdout.write(`Wrote ${options.file}\n`);
      let needsSetup: Crm[] = answers.crms;
      if (options.check) {
        const outcome = await checkConnections(config, answers.crms);
        process.stdout.write(`${outcome.lines.join('\n')}\n`);
        needsSetup = outcome.needsSetup;
        if (!outcome.ok) process.exitCode = 1;
      }
      const flag = options.file === 'cosell.yaml' ? '' : ` -c ${options.file}`;
      const secrets = answers.sandbox ? [] : secretVariables(answers.crms);
      process.stdout.write(
        [
          '',
          'Next:',
          ...(secrets.length ? [`  export ${secrets.map((s) => `${s}=…`).join(' ')}   # or switch them to file: references in ${options.file}`] : []),
          ...needsSetup.map((crm) => `  cosell setup ${crm}${crm === 'dynamics' && answers.sandbox ? ' --no-webhook' : ''}${flag}`),
          `  cosell mapping check${flag}`,
          `  cosell webhooks register${flag}`,
          `  cosell start${flag}`,
          '',
        ].join('\n'),
      );
    });
}

function secretVariables(crms: Crm[]): string[] {
  return [
    'COSELL_PC_CLIENT_SECRET',
    'COSELL_PC_REFRESH_TOKEN',
    ...(crms.includes('dynamics') ? ['COSELL_DYNAMICS_CLIENT_SECRET'] : []),
    ...(crms.includes('salesforce') ? ['COSELL_SALESFORCE_CLIENT_SECRET'] : []),
    'COSELL_ADMIN_TOKEN',
  ];
}
