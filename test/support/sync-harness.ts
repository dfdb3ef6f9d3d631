import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import type { Config, ConfigInput } from '../../src/config/schema.ts';
import { createDynamicsConnector } from '../../src/crm/dynamics/factory.ts';
import { setupDynamics } from '../../src/crm/dynamics/provisioning.ts';
import { partnerCenterClients } from '../../src/partner-center/from-config.ts';
import { REFERRAL_EVENT_NAMES } from '../../src/partner-center/webhook-event.ts';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox, type PartnerCenterSandboxOptions } from '../../src/sandbox/partner-center/index.ts';
import { startService, type RunningService } from '../../src/service.ts';
import type { Engine } from '../../src/sync/engine.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { freePort, spawnService, type ServiceProcess } from './service-process.ts';
import { makeTempDir } from './tmp.ts';

/*
 * Both sandboxes, a provisioned Dataverse org, a registered Partner Center webhook and the sync service, in-process
 * (a RunningService whose engine a test may drive) or as a `cosell start` child process (which a test may SIGKILL and
 * restart on the same database and port). Plus the helpers every sync test needs: act as a seller on either side,
 * read both sides through the sandboxes' control APIs (never counted, never faulted), count API calls, inject faults,
 * call the admin API and wait for the whole system to go quiet.
 */

export type Row = Record<string, unknown>;
export type SandboxFaults = Record<string, unknown>;

export interface RequestCounts {
  total: number;
  routes: Record<string, number>;
}

export interface AuditRow {
  id: number;
  at: string;
  referralId: string | null;
  crmId: string | null;
  direction: string;
  field: string | null;
  oldValue: unknown;
  newValue: unknown;
  cause: string;
  outcome: string;
  message: string | null;
}

export interface HeldConflictRow {
  connection: string;
  referralId: string;
  field: string;
  base: unknown;
  pc: unknown;
  crm: unknown;
}

export interface ServiceStatus {
  connections: string[];
  queueDepth: number;
  inFlight: number;
  deadLetters: number;
  heldConflicts: number;
  watermarks: Record<string, string | null>;
}

export interface DeliveryLogRow {
  id: string;
  label: string;
  body: string;
  status: string;
  duplicate: boolean;
  attempts: unknown[];
}

export interface SyncHarnessOptions {
  /** `in-process` (default): startService in this process. `child`: `bin/cosell.js start --config …`, killable. */
  mode?: 'in-process' | 'child';
  /** In-process only: false leaves the worker and reconciler stopped so the test drives `engine.worker`. */
  runEngine?: boolean;
  /** Overrides of the `sync` config section (reconcile interval, concurrency, …). */
  sync?: ConfigInput['sync'];
  /** A mapping file to use instead of the bundled mappings/dynamics.yaml. */
  mappingFile?: string;
  /** Child processes only (in-process logs are silent). Default `warn`. */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Partner Center webhook retry schedule. Default: 50 ms first retry, capped at 500 ms. */
  pcDelivery?: PartnerCenterSandboxOptions['delivery'];
  /** Delay of Dataverse's single webhook retry (502/503/504). Default 50 ms. */
  dvWebhookRetryDelayMs?: number;
  /** `synchronous` of the SQLite store. Default `full`. */
  synchronous?: 'full' | 'normal';
}

const DV_WEBHOOK_SECRET = 'dv-webhook-secret-for-tests';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the probe returns something truthy; the timeout only bounds a hung test, it is not an assertion on speed. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} → ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const sendJson = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Requests that change something (POST / PATCH / PUT / DELETE), summed over routes. */
export function writes(routes: Record<string, number>): number {
  return Object.entries(routes)
    .filter(([route]) => /^(POST|PATCH|PUT|DELETE) /.test(route))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** GET requests, summed over routes. */
export function reads(routes: Record<string, number>): number {
  return Object.entries(routes)
    .filter(([route]) => route.startsWith('GET '))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** Small seeded PRNG (mulberry32), so a chaos run can be replayed from its printed seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class SyncHarness {
  service: RunningService | undefined;
  process: ServiceProcess | undefined;

  private constructor(
    readonly pc: PartnerCenterSandbox,
    readonly dv: DataverseSandbox,
    readonly dir: string,
    private readonly cleanupDir: () => void,
    readonly port: number,
    readonly configInput: ConfigInput,
    readonly config: Config,
    private readonly options: SyncHarnessOptions,
  ) {}

  /** Starts the sandboxes, provisions Dataverse, starts the service and registers the Partner Center webhook. */
  static async start(options: SyncHarnessOptions = {}): Promise<SyncHarness> {
    const tmp = makeTempDir('cosell-sync-');
    const pc = await startPartnerCenterSandbox({ port: 0, delivery: options.pcDelivery ?? { initialDelayMs: 50, maxDelayMs: 500 } });
    const dv = await startDataverseSandbox({ port: 0, webhookRetryDelayMs: options.dvWebhookRetryDelayMs ?? 50 });
    try {
      const anchor = join(tmp.path, 'root.pem');
      writeFileSync(anchor, pc.rootCertificatePem);
      const secretFile = join(tmp.path, 'dv-webhook.secret');
      writeFileSync(secretFile, `${DV_WEBHOOK_SECRET}\n`);
      const port = await freePort();
      const pcHost = new URL(pc.url).host;
      const configInput: ConfigInput = {
        server: { host: '127.0.0.1', port },
        store: { path: join(tmp.path, 'cosell.db'), synchronous: options.synchronous ?? 'full' },
        log: { level: options.mode === 'child' ? (options.logLevel ?? 'warn') : 'silent' },
        sync: { reconcileIntervalSeconds: 3600, ...options.sync },
        ...(options.mappingFile ? { mappings: { dynamics: options.mappingFile } } : {}),
        partnerCenter: {
          referralsApiUrl: pc.url,
          webhooksApiUrl: pc.url,
          auth: { mode: 'sandbox' },
          webhooks: { certificateHosts: [pcHost], insecureHttpHosts: [pcHost], trustAnchors: [anchor] },
        },
        dynamics: { orgUrl: dv.url, mode: 'sandbox', webhook: { secret: { file: secretFile } } },
      };
      const config = parseConfig('sync-harness', configInput);
      // What `cosell setup dynamics` does: custom columns, alternate key, webhook endpoint and steps.
      const connector = await createDynamicsConnector(config.dynamics!, { logger: silentLogger() });
      await setupDynamics({
        connector,
        logger: silentLogger(),
        webhookUrl: `http://127.0.0.1:${port}/webhooks/dynamics`,
        webhookAuth: { kind: 'HttpHeader', headerName: 'x-cosell-webhook-key', secret: DV_WEBHOOK_SECRET },
      });
      const harness = new SyncHarness(pc, dv, tmp.path, tmp.cleanup, port, configInput, config, options);
      await harness.startService();
      // What `cosell webhooks register` does; the registration lives in the sandbox, so it survives service restarts.
      const clients = await partnerCenterClients(config.partnerCenter);
      await clients.webhooks.register({ webhookUrl: `${harness.url}/webhooks/partner-center`, webhookEvents: [...REFERRAL_EVENT_NAMES] });
      return harness;
    } catch (error) {
      await pc.close();
      await dv.close();
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

  /** The in-process engine (worker, reconciler). */
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
      this.service = await startService(this.config, silentLogger(), { runEngine: this.options.runEngine ?? true });
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
    await this.dv.close();
    this.cleanupDir();
  }

  // ---- Partner Center (as Microsoft and its sellers) ------------------------------------------------------------

  /** Microsoft shares a referral (body deep-merged over realistic co-sell defaults). */
  incomingReferral(body: Row = {}): Promise<Row & { id: string }> {
    return json(`${this.pc.url}/_sandbox/referrals/incoming`, sendJson('POST', body));
  }

  /** A Microsoft seller edits a referral (partial body). */
  pcSellerEdit(referralId: string, patch: Row): Promise<Row> {
    return json(`${this.pc.url}/_sandbox/referrals/${referralId}`, sendJson('PATCH', patch));
  }

  /** Every referral, Microsoft's side included. */
  async referrals(): Promise<Row[]> {
    return (await json<{ value: Row[] }>(`${this.pc.url}/_sandbox/referrals`)).value;
  }

  async referral(id: string): Promise<Row | undefined> {
    return (await this.referrals()).find((r) => r.id === id);
  }

  /** Referrals whose "CRM ID" is this CRM record. */
  async referralsForCrmId(crmId: string): Promise<Row[]> {
    return (await this.referrals()).filter((r) => typeof r.externalReferenceId === 'string' && r.externalReferenceId.toLowerCase() === crmId.toLowerCase());
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

  async pcDeliveries(): Promise<{ pending: number; value: DeliveryLogRow[] }> {
    return json(`${this.pc.url}/_sandbox/webhooks/deliveries`);
  }

  // ---- Dataverse (as a seller in the CRM UI) --------------------------------------------------------------------

  async records(entitySet: string): Promise<Row[]> {
    return (await json<{ value: Row[] }>(`${this.dv.url}/_sandbox/records/${entitySet}`)).value;
  }

  opportunities(): Promise<Row[]> {
    return this.records('opportunities');
  }

  async opportunity(id: string): Promise<Row | undefined> {
    return (await this.opportunities()).find((o) => o.opportunityid === id);
  }

  /** The opportunities carrying this referral id (exactly one when all is well). */
  async opportunitiesFor(referralId: string): Promise<Row[]> {
    return (await this.opportunities()).filter((o) => o.cosell_referralidentifier === referralId);
  }

  async opportunityFor(referralId: string): Promise<Row | undefined> {
    return (await this.opportunitiesFor(referralId))[0];
  }

  dvCreate(entitySet: string, body: Row): Promise<Row> {
    return json(`${this.dv.url}/_sandbox/records/${entitySet}`, sendJson('POST', body));
  }

  dvSellerEdit(entitySet: string, id: string, patch: Row): Promise<Row> {
    return json(`${this.dv.url}/_sandbox/records/${entitySet}/${id}`, sendJson('PATCH', patch));
  }

  /**
   * A seller's new deal in Dynamics: an account (ISO country), optionally a contact, and an opportunity for it.
   * `sync` is "Sync with Partner Center"; `help` an option of "How can Microsoft help?" (makes it co-sell).
   */
  async dvCreateDeal(deal: { name: string; company: string; value: number; description?: string; sync: boolean; help?: number; contact?: boolean; country?: string }): Promise<{ opportunityId: string; accountId: string }> {
    const account = await this.dvCreate('accounts', {
      name: deal.company,
      address1_city: 'Redmond',
      address1_postalcode: '98052',
      address1_country: deal.country ?? 'US',
    });
    const accountId = String(account.accountid);
    let contactId: string | undefined;
    if (deal.contact !== false) {
      const contact = await this.dvCreate('contacts', {
        firstname: 'Pat',
        lastname: deal.company.replace(/[^A-Za-z]/g, '') || 'Buyer',
        emailaddress1: `pat.${deal.company.replace(/[^A-Za-z0-9]/g, '').toLowerCase()}@example.com`,
        'parentcustomerid_account@odata.bind': `/accounts(${accountId})`,
      });
      contactId = String(contact.contactid);
    }
    const opportunity = await this.dvCreate('opportunities', {
      name: deal.name,
      estimatedvalue: deal.value,
      description: deal.description ?? `${deal.name} (created in Dynamics)`,
      estimatedclosedate: '2027-06-30',
      cosell_syncwithpartnercenter: deal.sync,
      ...(deal.help !== undefined ? { cosell_howcanmicrosofthelp: deal.help } : {}),
      'customerid_account@odata.bind': `/accounts(${accountId})`,
      'parentaccountid@odata.bind': `/accounts(${accountId})`,
      ...(contactId ? { 'parentcontactid@odata.bind': `/contacts(${contactId})` } : {}),
    });
    return { opportunityId: String(opportunity.opportunityid), accountId };
  }

  dvFaults(faults: SandboxFaults): Promise<unknown> {
    return json(`${this.dv.url}/_sandbox/faults`, sendJson('POST', faults));
  }

  clearDvFaults(): Promise<unknown> {
    return json(`${this.dv.url}/_sandbox/faults`, { method: 'DELETE' });
  }

  dvRequests(): Promise<RequestCounts> {
    return json(`${this.dv.url}/_sandbox/requests`);
  }

  async dvDeliveries(): Promise<{ pending: number; value: DeliveryLogRow[] }> {
    return json(`${this.dv.url}/_sandbox/webhooks/deliveries`);
  }

  /** Zero both sandboxes' request counters. */
  async resetRequests(): Promise<void> {
    await json(`${this.pc.url}/_sandbox/requests`, { method: 'DELETE' });
    await json(`${this.dv.url}/_sandbox/requests`, { method: 'DELETE' });
  }

  async clearFaults(): Promise<void> {
    await this.clearPcFaults();
    await this.clearDvFaults();
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

  async conflicts(): Promise<HeldConflictRow[]> {
    return (await this.api<{ conflicts: HeldConflictRow[] }>('/api/conflicts')).conflicts;
  }

  async deadLetters(): Promise<Array<{ id: number; jobKey: string; error: string }>> {
    return (await this.api<{ deadLetters: Array<{ id: number; jobKey: string; error: string }> }>('/api/dead-letters')).deadLetters;
  }

  reconcile(): Promise<{ referrals: number; crm: Record<string, number>; partnerCenterWatermark: string }> {
    return this.api('/api/reconcile', sendJson('POST', {}));
  }

  /** The service's Prometheus counter of outgoing API calls, summed per `api` and `status` label. */
  async apiCallsByStatus(): Promise<Record<string, number>> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const totals: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const match = /^cosell_api_calls_total\{(.*)\} (\d+(?:\.\d+)?)$/.exec(line);
      if (!match) continue;
      const labels = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      const key = `${labels.api ?? '?'} ${labels.status ?? '?'}`;
      totals[key] = (totals[key] ?? 0) + Number(match[2]);
    }
    return totals;
  }

  /** Waits until both sandboxes have no webhook delivery pending (delivered, dropped or failed). */
  async waitForWebhooks(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      'every webhook delivery to settle',
      async () => {
        const [pcLog, dvLog] = await Promise.all([this.pcDeliveries(), this.dvDeliveries()]);
        return pcLog.pending === 0 && dvLog.pending === 0;
      },
      timeoutMs,
      20,
    );
  }

  /**
   * Waits until nothing is left anywhere: no webhook pending in either sandbox, no job queued or running in the
   * service, observed `stableChecks` times in a row (a job's write raises a webhook, whose job raises nothing more).
   */
  async waitForIdle(timeoutMs = 30_000, stableChecks = 3): Promise<void> {
    let stable = 0;
    await waitFor(
      'the system to go idle (no pending webhooks, empty queue)',
      async () => {
        const [pcLog, dvLog, status] = await Promise.all([this.pcDeliveries(), this.dvDeliveries(), this.status()]);
        const idle = pcLog.pending === 0 && dvLog.pending === 0 && status.queueDepth === 0 && status.inFlight === 0;
        stable = idle ? stable + 1 : 0;
        return stable >= stableChecks;
      },
      timeoutMs,
      40,
    );
  }

  /** In-process with `runEngine: false`: start the worker, wait until everything settled, stop it again. */
  async runWorkerUntilIdle(): Promise<void> {
    const worker = this.engine.worker;
    worker.start();
    try {
      await this.waitForIdle();
    } finally {
      await worker.stop();
    }
  }
}
