import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { UsageError } from './errors.ts';
import { printResult } from './output.ts';

interface ServiceOptions {
  config?: string;
  serviceUrl?: string;
  json?: boolean;
}

function serviceUrl(options: ServiceOptions, config: Config): string {
  if (options.serviceUrl) return options.serviceUrl.replace(/\/+$/, '');
  const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
  return `http://${host}:${config.server.port}`;
}

/** Operator commands talk to the running service's admin API, so they never race its worker for the same records. */
async function callService<T>(options: ServiceOptions, method: string, path: string, body?: unknown): Promise<T> {
  const { config } = await loadConfig(options.config);
  const base = serviceUrl(options, config);
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10 * 60_000),
    });
  } catch {
    throw new Error(`the cosell-sync service is not reachable at ${base} (is "cosell start" running? --service-url overrides)`);
  }
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const message = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? text;
    if (response.status >= 400 && response.status < 500) throw new UsageError(message);
    throw new Error(`${method} ${path} failed: HTTP ${response.status} ${message}`);
  }
  return parsed as T;
}

const withServiceOptions = (cmd: Command) =>
  cmd
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .option('--service-url <url>', 'admin API of the running service (default: from server.host/port)')
    .option('--json', 'print JSON');

interface Status {
  connections: string[];
  queueDepth: number;
  inFlight: number;
  deadLetters: number;
  heldConflicts: number;
  lastSync: string | null;
  watermarks: Record<string, string | null>;
}

export function registerOperatorCommands(program: Command): void {
  withServiceOptions(program.command('status').description('queue depth, last sync, dead letters and conflicts of the running service')).action(
    async (options: ServiceOptions) => {
      const status = await callService<Status>(options, 'GET', '/api/status');
      printResult(options.json === true, status, () =>
        [
          `Connections:     ${status.connections.join(', ') || '(none)'}`,
          `Queue depth:     ${status.queueDepth} (${status.inFlight} running)`,
          `Last sync:       ${status.lastSync ?? 'never'}`,
          `Dead letters:    ${status.deadLetters}${status.deadLetters ? '  (GET /api/dead-letters; POST /api/dead-letters/<id>/replay)' : ''}`,
          `Held conflicts:  ${status.heldConflicts}`,
          ...Object.entries(status.watermarks).map(([k, v]) => `Watermark ${k}: ${v ?? '-'}`),
        ].join('\n'),
      );
    },
  );

  const sync = program.command('sync').description('sync records now');
  withServiceOptions(sync.command('referral').description('sync one referral with every CRM connection now').argument('<id>')).action(
    async (id: string, options: ServiceOptions) => {
      const result = await callService<{ enqueued: string[] }>(options, 'POST', `/api/sync/referral/${encodeURIComponent(id)}`);
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
    const report = await callService<{ referrals: number; crm: Record<string, number>; partnerCenterWatermark: string }>(
      options,
      'POST',
      '/api/reconcile',
      options.since ? { since: new Date(options.since).toISOString() } : {},
    );
    printResult(options.json === true, report, () =>
      [
        `Partner Center: ${report.referrals} referral(s) queued; watermark now ${report.partnerCenterWatermark}`,
        ...Object.entries(report.crm).map(([c, n]) => `${c}: ${n} record(s) queued`),
      ].join('\n'),
    );
  });
}
