import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { runSalesforceSetup } from '../../src/cli/setup.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config, ConfigInput } from '../../src/config/schema.ts';
import { partnerCenterClients } from '../../src/partner-center/from-config.ts';
import { REFERRAL_EVENT_NAMES } from '../../src/partner-center/webhook-event.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox, type PartnerCenterSandboxOptions } from '../../src/sandbox/partner-center/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { startService, type RunningService } from '../../src/service.ts';
import type { Engine } from '../../src/sync/engine.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { freePort, spawnService, type ServiceProcess } from './service-process.ts';
import { json, waitFor, type AuditRow, type DeliveryLogRow, type RequestCounts, type Row, type SandboxFaults, type ServiceStatus } from './sync-harness.ts';
import { makeTempDir } from './tmp.ts';

/*
 * The Salesforce counterpart of SyncHarness: the Partner Center and Salesforce sandboxes, the custom fields of
 * `cosell setup salesforce`, a registered Partner Center webhook and the sync service with CDC notifications,
 * in-process or as a killable `cosell start` child process. Salesforce is read and edited through the sandbox's control
 * API (`/_sandbox/records/:sobject`, as the seller: never counted, never faulted, raises CDC events).
 */

export const OPPORTUNITY_CDC_CHANNEL = '/data/OpportunityChangeEvent';
/** The store key of the CDC replay id of the `salesforce` connection's opportunity channel. */
export const OPPORTUNITY_CDC_WATERMARK = `salesforce:cdc:${OPPORTUNITY_CDC_CHANNEL}`;

export interface SalesforceSyncHarnessOptions {
  /** `in-process` (default): startService in this process. `child`: `bin/cosell.js start --config …`, killable. */
  mode?: 'in-process' | 'child';
  /** Overrides of the `sync` config section (reconcile interval, reconcile on start, concurrency, …). */
  sync?: ConfigInput['sync'];
  /** A mapping file to use instead of the bundled mappings/salesforce.yaml. */
  mappingFile?: string;
  /** Child processes only (in-process logs are silent). Default `warn`. */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Partner Center webhook retry schedule. Default: 50 ms first retry, capped at 500 ms. */
  pcDelivery?: PartnerCenterSandboxOptions['delivery'];
  /** `synchronous` of the SQLite store. Default `full`. */
  synchronous?: 'full' | 'normal';
}

const sendJson = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export class SalesforceSyncHarness {
  service: RunningService | undefined;
  process: ServiceProcess | undefined;

  private constructor(
    readonly pc: PartnerCenterSandbox,
    readonly sf: SalesforceSandbox,
    readonly dir: string,
    private readonly cleanupDir: () => void,
    readonly port: number,
    readonly configInput: ConfigInput,
    readonly config: Config,
    private readonly options: SalesforceSyncHarnessOptions,
  ) {}

  /** Starts the sandboxes, creates the Salesforce custom fields, starts the service and registers the PC webhook. */
  static async start(options: SalesforceSyncHarnessOptions = {}): Promise<SalesforceSyncHarness> {
    const tmp = makeTempDir('cosell-sync-sf-');
    const pc = await startPartnerCenterSandbox({ port: 0, delivery: options.pcDelivery ?? { initialDelayMs: 50, maxDelayMs: 500 } });
    // Long polls shorter than Salesforce's 110 s, so a closing sandbox never waits on a held connect for long.
    const sf = await startSalesforceSandbox({ port: 0, streamingLongPollMs: 5_000 });
    try {
      const anchor = join(tmp.path, 'root.pem');
      writeFileSync(anchor, pc.rootCertificatePem);
      const port = await freePort();
      const pcHost = new URL(pc.url).host;
      const configInput: ConfigInput = {
        server: { host: '127.0.0.1', port },
        store: { path: join(tmp.path, 'cosell.db'), synchronous: options.synchronous ?? 'full' },
        log: { level: options.mode === 'child' ? (options.logLevel ?? 'warn') : 'silent' },
        sync: { reconcileIntervalSeconds: 3600, ...options.sync },
        ...(options.mappingFile ? { mappings: { salesforce: options.mappingFile } } : {}),
        partnerCenter: {
          referralsApiUrl: pc.url,
          webhooksApiUrl: pc.url,
          auth: { mode: 'sandbox' },
          webhooks: { certificateHosts: [pcHost], insecureHttpHosts: [pcHost], trustAnchors: [anchor] },
        },
        salesforce: { instanceUrl: sf.url, mode: 'sandbox', notifications: 'cdc', organizationId: sf.organizationId },
      };
      const config = parseConfig('sync-harness-salesforce', configInput);
      // What `cosell setup salesforce` does: the custom fields through the Tooling API.
      await runSalesforceSetup(config, silentLogger());
      const harness = new SalesforceSyncHarness(pc, sf, tmp.path, tmp.cleanup, port, configInput, config, options);
      await harness.startService();
      const clients = await partnerCenterClients(config.partnerCenter);
      await clients.webhooks.register({ webhookUrl: `${harness.url}/webhooks/partner-center`, webhookEvents: [...REFERRAL_EVENT_NAMES] });
      return harness;
    } catch (error) {
      await pc.close();
      await sf.close();
      tmp.cleanup();
      throw error;
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get mode(): 'in-process' | 'child' {
    return this.options.mode ?? 'in-process';
  }

  get engine(): Engine {
    const engine = this.service?.engine;
    if (!engine) throw new Error('the engine is only reachable when the service runs in-process');
    return engine;
  }

  get running(): boolean {
    if (this.mode === 'in-process') return this.service !== undefined;
    const child = this.process?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Starts the service (again) on the same port and database. */
  async startService(): Promise<void> {
    if (this.running) throw new Error('the service is already running');
    if (this.mode === 'child') {
      this.process = await spawnService(this.dir, this.configInput, this.port);
    } else {
      this.service = await startService(this.config, silentLogger());
    }
  }

  /** Graceful stop (SIGTERM for a child). */
  async stopService(): Promise<void> {
    if (this.service) {
      const service = this.service;
      this.service = undefined;
      await service.close();
    }
    if (this.process && this.running) {
      const child = this.process.child;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }

  /** SIGKILL the child process and wait until it is gone. */
  async killService(): Promise<void> {
    if (this.mode !== 'child') throw new Error('only a child-process service can be killed');
    const child = this.process?.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    if (this.mode === 'child') await this.killService().catch(() => undefined);
    else await this.stopService().catch(() => undefined);
    await this.pc.close();
    await this.sf.close();
    this.cleanupDir();
  }

  // ---- Partner Center (as Microsoft and its sellers) ------------------------------------------------------------

  incomingReferral(body: Row = {}): Promise<Row & { id: string }> {
    return json(`${this.pc.url}/_sandbox/referrals/incoming`, sendJson('POST', body));
  }

  pcSellerEdit(referralId: string, patch: Row): Promise<Row> {
    return json(`${this.pc.url}/_sandbox/referrals/${referralId}`, sendJson('PATCH', patch));
  }

  async referrals(): Promise<Row[]> {
    return (await json<{ value: Row[] }>(`${this.pc.url}/_sandbox/referrals`)).value;
  }

  async referral(id: string): Promise<Row | undefined> {
    return (await this.referrals()).find((r) => r.id === id);
  }

  pcFaults(faults: SandboxFaults): Promise<unknown> {
    return json(`${this.pc.url}/_sandbox/faults`, sendJson('POST', faults));
  }

  clearPcFaults(): Promise<unknown> {
    return json(`${this.pc.url}/_sandbox/faults`, { method: 'DELETE' });
  }

  pcRequests(): Promise<RequestCounts> {
    return json(`${this.pc.url}/_sandbox/requests`);
  }

  pcDeliveries(): Promise<{ pending: number; value: DeliveryLogRow[] }> {
    return json(`${this.pc.url}/_sandbox/webhooks/deliveries`);
  }

  // ---- Salesforce (as a seller in the Salesforce UI) ------------------------------------------------------------

  async records(sobject: string): Promise<Row[]> {
    const body = await json<{ value?: Row[]; records?: Row[] }>(`${this.sf.url}/_sandbox/records/${sobject}`);
    return body.value ?? body.records ?? [];
  }

  opportunities(): Promise<Row[]> {
    return this.records('Opportunity');
  }

  async opportunity(id: string): Promise<Row | undefined> {
    return (await this.opportunities()).find((o) => o.Id === id);
  }

  /** The opportunities carrying this referral id (exactly one when all is well). */
  async opportunitiesFor(referralId: string): Promise<Row[]> {
    return (await this.opportunities()).filter((o) => o.Referral_Identifier__c === referralId);
  }

  async opportunityFor(referralId: string): Promise<Row | undefined> {
    return (await this.opportunitiesFor(referralId))[0];
  }

  sfSellerEdit(sobject: string, id: string, patch: Row): Promise<Row> {
    return json(`${this.sf.url}/_sandbox/records/${sobject}/${id}`, sendJson('PATCH', patch));
  }

  sfFaults(faults: SandboxFaults): Promise<unknown> {
    return json(`${this.sf.url}/_sandbox/faults`, sendJson('POST', faults));
  }

  clearSfFaults(): Promise<unknown> {
    return json(`${this.sf.url}/_sandbox/faults`, { method: 'DELETE' });
  }

  sfRequests(): Promise<RequestCounts> {
    return json(`${this.sf.url}/_sandbox/requests`);
  }

  /** Injects a CDC gap event (GAP_UPDATE by default) naming the given records, or every record of the entity. */
  cdcGap(entity: string, options: { changeType?: string; recordIds?: string[] } = {}): Promise<Row> {
    return json(`${this.sf.url}/_sandbox/cdc/gap`, sendJson('POST', { entity, ...options }));
  }

  cdcEvents(): Promise<{ count: number; latestReplayId: number; subscribers: number }> {
    return json(`${this.sf.url}/_sandbox/cdc/events`);
  }

  async resetRequests(): Promise<void> {
    await json(`${this.pc.url}/_sandbox/requests`, { method: 'DELETE' });
    await json(`${this.sf.url}/_sandbox/requests`, { method: 'DELETE' });
  }

  async clearFaults(): Promise<void> {
    await this.clearPcFaults();
    await this.clearSfFaults();
  }

  // ---- the service's admin API ----------------------------------------------------------------------------------

  api<T>(path: string, init?: RequestInit): Promise<T> {
    return json<T>(`${this.url}${path}`, init);
  }

  status(): Promise<ServiceStatus> {
    return this.api('/api/status');
  }

  async audit(query: { referralId?: string; crmId?: string; limit?: number } = {}): Promise<AuditRow[]> {
    const params = new URLSearchParams({ limit: String(query.limit ?? 500) });
    if (query.referralId) params.set('referralId', query.referralId);
    if (query.crmId) params.set('crmId', query.crmId);
    return (await this.api<{ entries: AuditRow[] }>(`/api/audit?${params.toString()}`)).entries;
  }

  async deadLetters(): Promise<Array<{ id: number; jobKey: string; error: string }>> {
    return (await this.api<{ deadLetters: Array<{ id: number; jobKey: string; error: string }> }>('/api/dead-letters')).deadLetters;
  }

  reconcile(): Promise<{ referrals: number; crm: Record<string, number>; partnerCenterWatermark: string }> {
    return this.api('/api/reconcile', sendJson('POST', {}));
  }

  /**
   * A watermark as the service stored it (the CDC replay ids are not part of `/api/status`), read from the SQLite
   * store through a separate read-only connection.
   */
  storedWatermark(source: string): string | undefined {
    const db = new Database(String(this.config.store.path), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT value FROM watermarks WHERE source = ?').get(source) as { value: string } | undefined;
      return row?.value;
    } finally {
      db.close();
    }
  }

  /**
   * Waits until nothing is left: no Partner Center webhook pending, no job queued or running, observed `stableChecks`
   * times in a row. CDC events have no delivery log; they arrive through the long poll within a few checks, which is
   * why the default asks for more stable checks than the Dynamics harness.
   */
  async waitForIdle(timeoutMs = 30_000, stableChecks = 6): Promise<void> {
    let stable = 0;
    await waitFor(
      'the system to go idle (no pending Partner Center webhooks, empty queue)',
      async () => {
        const [pcLog, status] = await Promise.all([this.pcDeliveries(), this.status()]);
        const idle = pcLog.pending === 0 && status.queueDepth === 0 && status.inFlight === 0;
        stable = idle ? stable + 1 : 0;
        return stable >= stableChecks;
      },
      timeoutMs,
      50,
    );
  }
}
