import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { partnerCenterClients } from '../partner-center/from-config.ts';
import { REFERRAL_EVENT_NAMES, WEBHOOK_PATH } from '../partner-center/webhook-event.ts';
import { RegistrationExistsError, type WebhookRegistration, type WebhooksClient } from '../partner-center/webhooks-client.ts';
import type { Config } from '../config/schema.ts';
import { UsageError } from './errors.ts';
import { printResult } from './output.ts';

export const TEST_EVENT = 'test-created';

interface CommonOptions {
  config?: string;
  json?: boolean;
}

interface RegisterOptions extends CommonOptions {
  url?: string;
  events?: string;
  overwrite?: boolean;
  msSignatureHeader?: boolean;
}

async function clientFor(options: CommonOptions): Promise<{ client: WebhooksClient; config: Config }> {
  const { config } = await loadConfig(options.config);
  const { webhooks } = await partnerCenterClients(config.partnerCenter);
  return { client: webhooks, config };
}

/**
 * The correlation id of the last test event requested from this installation, kept next to the store so that
 * `cosell webhooks test-status` works without copying it. Null for an in-memory store.
 */
function lastTestFile(config: Config): string | null {
  return config.store.driver !== 'sqlite' || config.store.path === ':memory:' ? null : join(dirname(config.store.path), 'last-webhook-test');
}

async function rememberTest(config: Config, correlationId: string): Promise<void> {
  const file = lastTestFile(config);
  if (file === null) return;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${correlationId}\n`);
  } catch {
    // Only a convenience: the id is printed anyway.
  }
}

async function lastTest(config: Config): Promise<string> {
  const file = lastTestFile(config);
  const remembered = file === null ? '' : await readFile(file, 'utf8').then((text) => text.trim(), () => '');
  if (!remembered) throw new UsageError('no correlation id given and no test event was requested from here yet: run "cosell webhooks test" first');
  return remembered;
}

function parseEvents(value: string | undefined): string[] {
  if (value === undefined) return [...REFERRAL_EVENT_NAMES];
  const events = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (events.length === 0) throw new UsageError('--events needs at least one event name');
  return [...new Set(events)];
}

function webhookUrl(options: RegisterOptions, config: Config): string {
  const url = options.url ?? (config.server.publicUrl ? `${config.server.publicUrl.replace(/\/+$/, '')}${WEBHOOK_PATH}` : undefined);
  if (url === undefined) {
    throw new UsageError('--url is required (or set server.publicUrl in the configuration)');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be an absolute URL, got "${url}"`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new UsageError('--url must be http(s)');
  return parsed.href;
}

function describeRegistration(r: WebhookRegistration | null): string {
  if (r === null) return 'No webhook registration.';
  return [
    `URL:     ${r.webhookUrl}`,
    `Events:  ${r.webhookEvents.join(', ') || '(none)'}`,
    ...(r.subscriberId ? [`Subscriber: ${r.subscriberId}`] : []),
    ...(r.signatureTokenToMsSignatureHeader !== undefined
      ? [`Signature header: ${r.signatureTokenToMsSignatureHeader ? 'x-ms-signature' : 'Authorization'}`]
      : []),
  ].join('\n');
}

async function validateEventNames(client: WebhooksClient, events: string[]): Promise<void> {
  const known = new Set((await client.listEvents()).map((e) => e.toLowerCase()));
  const unknown = events.filter((e) => !known.has(e.toLowerCase()));
  if (unknown.length > 0) {
    throw new UsageError(`unknown event name(s): ${unknown.join(', ')} (see "cosell webhooks events")`);
  }
}

export function registerWebhooksCommand(program: Command): void {
  const webhooks = program.command('webhooks').description('manage the Partner Center webhook registration');
  const common = (cmd: Command) =>
    cmd.option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)').option('--json', 'print JSON');

  common(webhooks.command('events').description('list the events Partner Center can send')).action(async (options: CommonOptions) => {
    const { client } = await clientFor(options);
    const events = await client.listEvents();
    printResult(options.json === true, events, () => events.join('\n'));
  });

  common(webhooks.command('show').description("show the tenant's webhook registration")).action(async (options: CommonOptions) => {
    const { client } = await clientFor(options);
    const registration = await client.getRegistration();
    printResult(options.json === true, registration, () => describeRegistration(registration));
  });

  common(
    webhooks
      .command('register')
      .description('register the webhook URL for events (fails if one exists, unless --overwrite)')
      .option('--url <url>', `callback URL (default: server.publicUrl + ${WEBHOOK_PATH})`)
      .option('--events <list>', `comma-separated events (default: ${REFERRAL_EVENT_NAMES.join(',')})`)
      .option('--overwrite', 'replace an existing registration ("Overwrite existing trigger endpoints if present")')
      .option('--ms-signature-header', 'ask for the signature in x-ms-signature instead of Authorization'),
  ).action(async (options: RegisterOptions) => {
    const { client, config } = await clientFor(options);
    const request = {
      webhookUrl: webhookUrl(options, config),
      webhookEvents: parseEvents(options.events),
      ...(options.msSignatureHeader ? { signatureTokenToMsSignatureHeader: true } : {}),
    };
    await validateEventNames(client, request.webhookEvents);
    let registration: WebhookRegistration;
    let replaced = false;
    try {
      registration = await client.register(request);
    } catch (error) {
      if (!(error instanceof RegistrationExistsError)) throw error;
      if (!options.overwrite) {
        const existing = await client.getRegistration().catch(() => null);
        throw new UsageError(
          `a webhook registration already exists${existing ? ` (${existing.webhookUrl})` : ''}; ` +
            'use --overwrite to replace it, or "cosell webhooks update"',
        );
      }
      registration = await client.updateRegistration(request);
      replaced = true;
    }
    printResult(options.json === true, { replaced, registration }, () =>
      `${replaced ? 'Replaced the existing registration.' : 'Registered.'}\n${describeRegistration(registration)}`,
    );
  });

  common(
    webhooks
      .command('update')
      .description('replace the registration (PUT); unspecified fields keep their current value')
      .option('--url <url>', 'callback URL')
      .option('--events <list>', 'comma-separated events')
      .option('--ms-signature-header', 'ask for the signature in x-ms-signature instead of Authorization'),
  ).action(async (options: RegisterOptions) => {
    const { client, config } = await clientFor(options);
    const current = await client.getRegistration();
    const url = options.url !== undefined || current === null ? webhookUrl(options, config) : current.webhookUrl;
    const events = options.events !== undefined || current === null ? parseEvents(options.events) : current.webhookEvents;
    await validateEventNames(client, events);
    const registration = await client.updateRegistration({
      webhookUrl: url,
      webhookEvents: events,
      ...(options.msSignatureHeader || current?.signatureTokenToMsSignatureHeader
        ? { signatureTokenToMsSignatureHeader: true }
        : {}),
    });
    printResult(options.json === true, registration, () => `Updated.\n${describeRegistration(registration)}`);
  });

  common(webhooks.command('test').description('ask Partner Center to send a test event (2 per minute)')).action(
    async (options: CommonOptions) => {
      const { client, config } = await clientFor(options);
      const current = await client.getRegistration();
      if (current === null) throw new UsageError('no webhook registration: run "cosell webhooks register" first');
      let addedTestEvent = false;
      // Partner Center only sends validation events to registrations that include test-created.
      if (!current.webhookEvents.some((e) => e.toLowerCase() === TEST_EVENT)) {
        await client.updateRegistration({
          webhookUrl: current.webhookUrl,
          webhookEvents: [...current.webhookEvents, TEST_EVENT],
          ...(current.signatureTokenToMsSignatureHeader ? { signatureTokenToMsSignatureHeader: true } : {}),
        });
        addedTestEvent = true;
      }
      const { correlationId } = await client.sendTestEvent();
      await rememberTest(config, correlationId);
      printResult(options.json === true, { correlationId, addedTestEvent }, () =>
        [
          ...(addedTestEvent ? [`Added "${TEST_EVENT}" to the registration (Partner Center requires it for test events).`] : []),
          `Test event requested. Correlation id: ${correlationId}`,
          `Check delivery with: cosell webhooks test-status (this test is remembered) or test-status ${correlationId}`,
        ].join('\n'),
      );
    },
  );

  common(
    webhooks
      .command('test-status')
      .description('show the delivery attempts of a test event (default: the last one requested with "cosell webhooks test")')
      .argument('[correlationId]'),
  ).action(async (given: string | undefined, options: CommonOptions) => {
    const { client, config } = await clientFor(options);
    const correlationId = given ?? (await lastTest(config));
    const status = await client.getTestEventStatus(correlationId);
    printResult(options.json === true, status, () =>
      [
        `Test event ${status.correlationId}: ${status.status}`,
        ...(status.callbackUrl ? [`Callback: ${status.callbackUrl}`] : []),
        ...(status.results.length === 0
          ? ['No delivery attempts yet.']
          : status.results.map(
              (r, i) =>
                `  attempt ${i + 1}: ${r.responseCode ?? '?'}${r.responseMessage ? ` ${r.responseMessage}` : ''}` +
                `${r.systemError && r.systemError !== 'false' ? ` (error: ${r.systemError})` : ''} at ${r.dateTimeUtc ?? '?'}`,
            )),
      ].join('\n'),
    );
  });
}
