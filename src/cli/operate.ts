import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { describeSecretRef, resolveSecret } from '../config/secrets.ts';
import type {
  ConflictsResponse,
  DeadLettersResponse,
  ReconcileResponse,
  ReplayDeadLetterResponse,
  ResolveConflictResponse,
  StatusResponse,
  SyncReferralResponse,
} from '../server/admin-api.ts';
import type { ReconcileProgress } from '../sync/reconciler.ts';
import { UsageError } from './errors.ts';
import { printResult } from './output.ts';

interface ServiceOptions {
  config?: string;
  serviceUrl?: string;
  json?: boolean;
}

/** Set, it wins over the configuration's admin.token (e.g. to talk to a service configured elsewhere). */
export const ADMIN_TOKEN_ENV = 'COSELL_ADMIN_TOKEN';

/** `--service-url`, checked: an absolute http(s) URL without a trailing slash. */
export function parseServiceUrl(given: string): string {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new UsageError(`--service-url must be an absolute http(s) URL, got "${given}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--service-url must be an http(s) URL, got "${given}"`);
  return given.replace(/\/+$/, '');
}

/** The admin listener's base URL from admin.host/admin.port of the configuration. */
export function configuredAdminUrl(config: Config): string {
  const host = config.admin.host === '0.0.0.0' ? '127.0.0.1' : config.admin.host === '::' ? '::1' : config.admin.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.admin.port}`;
}

/** The bearer token to send, or why there is none (said only if the service asks for one). */
async function adminToken(config: Config): Promise<{ token: string } | { missing: string }> {
  const fromEnv = process.env[ADMIN_TOKEN_ENV]?.trim();
  if (fromEnv) return { token: fromEnv };
  if (config.admin.auth === 'none') return { missing: 'admin.auth is none in the configuration' };
  try {
    return { token: await resolveSecret(config.admin.token) };
  } catch (error) {
    return { missing: `admin.token (${describeSecretRef(config.admin.token)}): ${(error as Error).message}` };
  }
}

function parseAnswer(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Operator commands talk to the running service's admin API, so they never race its worker for the same records. */
async function callService<T>(options: ServiceOptions, method: string, path: string, body?: unknown): Promise<T> {
  // Checked before anything else, so a typo is a usage error whatever the configuration holds.
  const given = options.serviceUrl === undefined ? undefined : parseServiceUrl(options.serviceUrl);
  const { config } = await loadConfig(options.config);
  const base = given ?? configuredAdminUrl(config);
  const credential = await adminToken(config);
  const headers: Record<string, string> = 'token' in credential ? { authorization: `Bearer ${credential.token}` } : {};
  // The admin listener takes state changes as JSON only.
  if (method !== 'GET') headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(method === 'GET' ? {} : { body: JSON.stringify(body ?? {}) }),
      signal: AbortSignal.timeout(10 * 60_000),
    });
  } catch {
    throw new Error(`the cosell-sync service is not reachable at ${base} (is "cosell start" running? --service-url overrides)`);
  }
  const text = await response.text();
  const parsed = parseAnswer(text);
  if (response.status === 401) {
    throw new UsageError(
      'token' in credential
        ? `the admin API at ${base} refused the admin token (check admin.token, or ${ADMIN_TOKEN_ENV})`
        : `the admin API at ${base} needs the admin token: ${credential.missing} (or set ${ADMIN_TOKEN_ENV})`,
    );
  }
  if (!response.ok) {
    const message = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? text;
    if (response.status >= 400 && response.status < 500) throw new UsageError(message);
    throw new Error(`${method} ${path} failed: HTTP ${response.status} ${message}`);
  }
  if (parsed === undefined && text) throw new Error(`${method} ${path}: the answer from ${base} is not JSON (is --service-url the admin listener?)`);
  return parsed as T;
}

const withServiceOptions = (cmd: Command) =>
  cmd
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .option('--service-url <url>', `the running service's admin listener (default: from admin.host/admin.port; token from admin.token or ${ADMIN_TOKEN_ENV})`)
    .option('--json', 'print JSON');

export function registerOperatorCommands(program: Command): void {
  withServiceOptions(program.command('status').description('queue depth, last sync, dead letters and conflicts of the running service')).action(
    async (options: ServiceOptions) => {
      const status = await callService<StatusResponse>(options, 'GET', '/api/status');
      printResult(options.json === true, status, () =>
        [
          `Connections:     ${status.connections.join(', ') || '(none)'}`,
          `Queue depth:     ${status.queueDepth} (${status.inFlight} running)`,
          `Last sync:       ${status.lastSync ?? 'never'}`,
          `Dead letters:    ${status.deadLetters}${status.deadLetters ? '  (cosell dead-letters)' : ''}`,
          `Held conflicts:  ${status.heldConflicts}${status.heldConflicts ? '  (cosell conflicts)' : ''}`,
          ...(status.reconcile ? [`Reconcile:       ${describeReconcile(status.reconcile)}`] : []),
          ...Object.entries(status.watermarks).map(([k, v]) => `Watermark ${k}: ${v ?? '-'}`),
        ].join('\n'),
      );
    },
  );

  const deadLetters = withServiceOptions(
    program.command('dead-letters').description('syncs that failed for good (validation, rejected data), newest first; closed when the pair syncs again').option('--all', 'include resolved ones (by a later sync or a replay)'),
  ).action(async (options: ServiceOptions & { all?: boolean }) => {
    const { deadLetters: rows } = await callService<DeadLettersResponse>(options, 'GET', `/api/dead-letters?limit=200${options.all ? '&open=false' : ''}`);
    printResult(options.json === true, rows, () =>
      rows.length === 0
        ? 'No dead letters.'
        : [
            ...rows.map(
              (d) =>
                `#${d.id}  ${d.failedAt}  ${d.connection}  ${d.referralId ? `referral ${d.referralId}` : `${d.crmEntity ?? '?'} ${d.crmId ?? '?'}`}  ` +
                `after ${d.attempts} attempt(s)${d.resolvedAt ? `  (${d.resolvedBy === 'replay' ? 'replayed' : 'resolved by sync'} ${d.resolvedAt})` : ''}\n    ${d.error}`,
            ),
            '',
            'Fix the cause (the record, the mapping or a permission), then: cosell dead-letters replay <id>',
          ].join('\n'),
    );
  });
  withServiceOptions(deadLetters.command('replay').description('queue a dead letter again, as a manual sync').argument('<id>')).action(
    async (id: string, _options: ServiceOptions, command: Command) => {
      // `--service-url` and friends may be written before or after `replay`: the parent command takes them too.
      const options = command.optsWithGlobals<ServiceOptions>();
      if (!/^[1-9]\d*$/.test(id)) throw new UsageError('the dead letter id is a positive whole number (see cosell dead-letters)');
      const result = await callService<ReplayDeadLetterResponse>(options, 'POST', `/api/dead-letters/${id}/replay`);
      printResult(options.json === true, result, () => `Dead letter #${result.replayed} queued again.`);
    },
  );

  const conflictsCommand = withServiceOptions(program.command('conflicts').description('fields held by a `manual` conflict policy until resolved or the sides agree'));
  conflictsCommand.action(
    async (options: ServiceOptions) => {
      const { conflicts } = await callService<ConflictsResponse>(options, 'GET', '/api/conflicts');
      printResult(options.json === true, conflicts, () =>
        conflicts.length === 0
          ? 'No held conflicts.'
          : [
              ...conflicts.map(
                (c) =>
                  `#${c.id}  ${c.connection}  referral ${c.referralId}  ${c.field}  since ${c.detectedAt}\n` +
                  `    base ${JSON.stringify(c.base)}  Partner Center ${JSON.stringify(c.pc)}  CRM ${JSON.stringify(c.crm)}`,
              ),
              '',
              'Resolve: cosell conflicts resolve <id> --take partner-center|crm|value [<value>] (or make both sides agree).',
            ].join('\n'),
      );
    },
  );
  withServiceOptions(
    conflictsCommand.command('resolve').description('write one value to both sides and release the hold').argument('<id>').argument('[value]', 'with --take value').requiredOption('--take <side>', 'partner-center, crm or value'),
  ).action(async (id: string, value: string | undefined, _options: ServiceOptions, command: Command) => {
    const options = command.optsWithGlobals<ServiceOptions & { take: string }>();
    if (!/^[1-9]\d*$/.test(id)) throw new UsageError('the conflict id is a positive whole number (see cosell conflicts)');
    if (!['partner-center', 'crm', 'value'].includes(options.take)) throw new UsageError('--take is partner-center, crm or value');
    if ((options.take === 'value') !== (value !== undefined)) throw new UsageError('give a value with --take value, and only then');
    const result = await callService<ResolveConflictResponse>(options, 'POST', `/api/conflicts/${id}/resolve`, { take: options.take, ...(value !== undefined ? { value } : {}) });
    printResult(options.json === true, result, () => `Conflict #${result.resolving} (${result.field}): ${JSON.stringify(result.value)} is being written to both sides.`);
  });

  const sync = program.command('sync').description('sync records now');
  withServiceOptions(sync.command('referral').description('sync one referral with every CRM connection now').argument('<id>')).action(
    async (id: string, options: ServiceOptions) => {
      const result = await callService<SyncReferralResponse>(options, 'POST', `/api/sync/referral/${encodeURIComponent(id)}`);
      printResult(options.json === true, result, () => `Queued: ${result.enqueued.join(', ')}`);
    },
  );

  withServiceOptions(
    program
      .command('reconcile')
      .description('list what changed on every side (since the watermark, or --since) and queue it; shows progress in the service log')
      .option('--since <iso-date>', 'start from this instant instead of the stored watermark'),
  ).action(async (options: ServiceOptions & { since?: string }) => {
    if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) throw new UsageError('--since must be an ISO date-time');
    const pass = callService<ReconcileResponse>(options, 'POST', '/api/reconcile', options.since ? { since: new Date(options.since).toISOString() } : {});
    const report = process.stderr.isTTY && options.json !== true ? await withProgress(options, pass) : await pass;
    printResult(options.json === true, report, () =>
      [
        `Partner Center: ${report.referrals} referral(s) queued; watermark now ${report.partnerCenterWatermark}`,
        ...Object.entries(report.crm).map(([c, n]) => `${c}: ${n} record(s) queued`),
        ...(report.microsoftSideRefreshed ? [`Microsoft's side: ${report.microsoftSideRefreshed} open co-sell pair(s) queued to re-read it`] : []),
      ].join('\n'),
    );
  });
}

/** One line for a reconcile pass: how far it got, and whether it is still going. */
export function describeReconcile(p: ReconcileProgress): string {
  const counts = `${p.referrals} referral(s) listed, ${p.backfilled} created in bulk, ${p.queued} job(s) queued`;
  return p.running ? `running since ${p.startedAt}: ${counts}` : `last pass ${p.finishedAt ?? p.startedAt}: ${counts}`;
}

/**
 * While the pass runs, its counts on one rewritten terminal line (stderr, so `--json` and pipes stay clean): a first
 * reconcile over thousands of referrals takes minutes, and the POST answers only at the end.
 */
async function withProgress<T>(options: ServiceOptions, pass: Promise<T>): Promise<T> {
  let done = false;
  const spinner = ['|', '/', '-', '\\'];
  const poll = (async () => {
    for (let tick = 0; !done; tick++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const status = await callService<StatusResponse>(options, 'GET', '/api/status').catch(() => undefined);
      if (!done && status?.reconcile?.running) process.stderr.write(`\r${spinner[tick % spinner.length]} ${describeReconcile(status.reconcile)}\u001b[K`);
    }
  })();
  try {
    return await pass;
  } finally {
    done = true;
    await poll;
    process.stderr.write('\r\u001b[K');
  }
}
