import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqliteStoreConfig, type Config, type ConfigInput } from '../../src/config/schema.ts';
import { partnerCenterClients } from '../../src/partner-center/from-config.ts';
import { PartnerCenterApiError } from '../../src/partner-center/api-error.ts';
import type { FieldChange } from '../../src/partner-center/json-patch.ts';
import { REFERRAL_EVENT_NAMES } from '../../src/partner-center/webhook-event.ts';
import { createSeededRandom } from '../../src/util/prng.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox, type PartnerCenterSandboxOptions } from '../../src/sandbox/partner-center/index.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { SqliteStore } from '../../src/store/sqlite/index.ts';
import type { Engine } from '../../src/sync/engine.ts';
import { silentLogger, type Logger } from '../../src/util/logger.ts';
import type { AuditResponse, ConflictsResponse, DeadLettersResponse, ReconcileResponse, StatusResponse } from '../../src/server/admin-api.ts';
import type { AuditRecord, DeadLetter, HeldConflict } from '../../src/store/types.ts';
import { adminFetch, testAdminConfig } from './admin.ts';
import { freePort, spawnService, type ServiceProcess } from './service-process.ts';
import { makeTempDir } from './tmp.ts';

/*
 * What every sync harness shares, whichever CRM it pairs with Partner Center: the Partner Center sandbox, a temporary
 * directory with the store, the service in-process (a RunningService whose engine a test may drive) or as a
 * `cosell start` child process (which a test may SIGKILL and restart on the same database and port), acting as
 * Microsoft and its sellers, and the service's admin API (on its own listener, with the test process's admin token).
 * The CRM side lives in the subclasses.
 */

export type Row = Record<string, unknown>;
export type SandboxFaults = Record<string, unknown>;

export interface RequestCounts {
  total: number;
  routes: Record<string, number>;
}

export interface DeliveryLogRow {
  id: string;
  label: string;
  body: string;
  status: string;
  duplicate: boolean;
  attempts: unknown[];
}

export interface ServiceHarnessOptions {
  /** `in-process` (default): startService in this process. `child`: `bin/cosell.js start --config …`, killable. */
  mode?: 'in-process' | 'child';
  /** In-process only: false leaves the worker and reconciler stopped so the test drives `engine.worker`. */
  runEngine?: boolean;
  /** Overrides of the `sync` config section (reconcile interval, reconcile on start, concurrency, …). */
  sync?: ConfigInput['sync'];
  /** Child processes only (in-process logs are silent). Default `warn`. */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Partner Center webhook retry schedule. Default: 50 ms first retry, capped at 500 ms. */
  pcDelivery?: PartnerCenterSandboxOptions['delivery'];
  /**
   * The Partner Center sandbox's strictCoSell. Default true, as the sandbox's own and as Partner Center behaves. A
   * suite whose CRM edits must reach Partner Center accepts the incoming referral first (`pcPartnerAccept`): the
   * product holds edits of an unanswered invitation, as Partner Center takes none.
   */
  pcStrictCoSell?: boolean;
  /** `synchronous` of the SQLite store. Default `full`. */
  synchronous?: 'full' | 'normal';
  /** In-process only: the service's logger (default silent), e.g. to read what it logs. */
  logger?: Logger;
  /** The `store` section instead of a SQLite file in the harness directory (e.g. a PostgreSQL test database). */
  store?: ConfigInput['store'];
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A referral's `details` object, empty when absent. */
export const detailsOf = (referral: Row | undefined): Row => (referral?.details ?? {}) as Row;

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
  return answer(await fetch(url, init), url, init);
}

/** Like json(), against the service's admin listener: with the admin token, state changes as JSON. */
export async function adminJson<T>(url: string, init?: RequestInit): Promise<T> {
  return answer(await adminFetch(url, init), url, init);
}

async function answer<T>(response: Response, url: string, init: RequestInit | undefined): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} → ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export const sendJson = (method: string, body: unknown): RequestInit => ({
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

/** Small seeded PRNG (the sandboxes' mulberry32), so a chaos run can be replayed from its printed seed. */
export const seededRandom = createSeededRandom;

/** The CRM-independent half of a harness' start: Partner Center sandbox, temp dir, port and the shared config. */
export interface HarnessGround {
  pc: PartnerCenterSandbox;
  dir: string;
  port: number;
  /** The admin listener's port (fixed, so a restarted child answers at the same address). */
  adminPort: number;
  /** Every section but the CRM's (and its mapping). */
  configInput: ConfigInput;
  dispose(): Promise<void>;
}

export async function prepareHarness(prefix: string, options: ServiceHarnessOptions): Promise<HarnessGround> {
  const tmp = makeTempDir(prefix);
  const pc = await startPartnerCenterSandbox({
    port: 0,
    delivery: options.pcDelivery ?? { initialDelayMs: 50, maxDelayMs: 500 },
    strictCoSell: options.pcStrictCoSell ?? true,
  });
  const anchor = join(tmp.path, 'root.pem');
  writeFileSync(anchor, pc.rootCertificatePem);
  const port = await freePort();
  const adminPort = await freePort();
  const pcHost = new URL(pc.url).host;
  return {
    pc,
    dir: tmp.path,
    port,
    adminPort,
    configInput: {
      server: { host: '127.0.0.1', port },
      admin: testAdminConfig(adminPort),
      store: options.store ?? { path: join(tmp.path, 'cosell.db'), synchronous: options.synchronous ?? 'full' },
      log: { level: options.mode === 'child' ? (options.logLevel ?? 'warn') : 'silent' },
      sync: { reconcileIntervalSeconds: 3600, ...options.sync },
      partnerCenter: {
        referralsApiUrl: pc.url,
        webhooksApiUrl: pc.url,
        auth: { mode: 'sandbox' },
        webhooks: { certificateHosts: [pcHost], insecureHttpHosts: [pcHost], trustAnchors: [anchor] },
      },
    },
    async dispose() {
      await pc.close();
      tmp.cleanup();
    },
  };
}

export abstract class ServiceHarness {
  service: RunningService | undefined;
  process: ServiceProcess | undefined;
  readonly pc: PartnerCenterSandbox;
  readonly dir: string;
  readonly port: number;
  readonly adminPort: number;

  protected constructor(
    private readonly ground: HarnessGround,
    readonly configInput: ConfigInput,
    readonly config: Config,
    protected readonly options: ServiceHarnessOptions,
  ) {
    this.pc = ground.pc;
    this.dir = ground.dir;
    this.port = ground.port;
    this.adminPort = ground.adminPort;
  }

  /** Closes the CRM sandbox. */
  protected abstract closeCrm(): Promise<void>;

  /** CRM notifications still waiting to be delivered (0 where the CRM has no delivery log, e.g. CDC). */
  protected abstract crmPendingDeliveries(): Promise<number>;

  /** How many idle checks in a row `waitForIdle` asks for by default. */
  protected abstract readonly idleStableChecks: number;

  /** Starts the service and registers the Partner Center webhook, as `cosell webhooks register` does. */
  protected async startAndRegister(): Promise<void> {
    await this.startService();
    // The registration lives in the sandbox, so it survives service restarts.
    const clients = await partnerCenterClients(this.config.partnerCenter);
    await clients.webhooks.register({ webhookUrl: `${this.url}/webhooks/partner-center`, webhookEvents: [...REFERRAL_EVENT_NAMES] });
  }

  /** The public listener (webhooks, /healthz). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The admin listener (API, dashboard, /metrics, /readyz). */
  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
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
      this.service = await startService(this.config, this.options.logger ?? silentLogger(), { runEngine: this.options.runEngine ?? true });
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
      // The service bounds its own stop (30 s, then exit 1); waiting longer would only turn a hung stop into a
      // test timeout that says nothing.
      const inTime = await Promise.race([exited.then(() => true), sleep(45_000).then(() => false)]);
      if (!inTime) {
        child.kill('SIGKILL');
        throw new Error(`the service did not stop within 45 s of SIGTERM: ${this.process.stderr().slice(-2000)} ${this.process.stdout().slice(-2000)}`);
      }
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
    await this.closeCrm();
    await this.ground.dispose();
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

  /**
   * The partner accepts an incoming referral in Partner Center (its API, as the partner's UI does). Partner Center takes
   * no other edit of an unaccepted invitation, so suites that sync CRM edits to one accept it first.
   */
  async pcPartnerAccept(referralId: string): Promise<void> {
    const { referrals } = await partnerCenterClients(this.config.partnerCenter);
    // The service may write the referral (its "CRM ID") between our read and our PATCH: read again on 412, as the
    // partner's UI would after "modified by someone else".
    for (let attempt = 1; ; attempt++) {
      const current = await referrals.get(referralId);
      try {
        await referrals.patch(referralId, [{ path: ['status'], value: 'Active' }, { path: ['substatus'], value: 'Accepted' }], { ifMatch: current.eTag });
        return;
      } catch (error) {
        if (!(error instanceof PartnerCenterApiError && error.status === 412) || attempt >= 5) throw error;
      }
    }
  }

  /** The partner edits its referral in Partner Center (its API, as the partner's UI does). */
  async pcPartnerEdit(referralId: string, changes: FieldChange[]): Promise<void> {
    const { referrals } = await partnerCenterClients(this.config.partnerCenter);
    const current = await referrals.get(referralId);
    await referrals.patch(referralId, changes, { ifMatch: current.eTag });
  }

  /** The partner closes a referral in Partner Center (its API) as Won or Lost, with a reason (`statusReason`). */
  async pcPartnerClose(referralId: string, substatus: 'Won' | 'Lost', reason: string): Promise<void> {
    const { referrals } = await partnerCenterClients(this.config.partnerCenter);
    const current = await referrals.get(referralId);
    const changes = [
      { path: ['status'], value: 'Closed' },
      { path: ['substatus'], value: substatus },
      { path: ['statusReason'], value: reason },
    ];
    await referrals.patch(referralId, changes, { ifMatch: current.eTag });
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

  pcDeliveries(): Promise<{ pending: number; value: DeliveryLogRow[] }> {
    return json(`${this.pc.url}/_sandbox/webhooks/deliveries`);
  }

  // ---- the service's admin API ----------------------------------------------------------------------------------

  api<T>(path: string, init?: RequestInit): Promise<T> {
    return adminJson<T>(`${this.adminUrl}${path}`, init);
  }

  status(): Promise<StatusResponse> {
    return this.api('/api/status');
  }

  async audit(query: { referralId?: string; crmId?: string; limit?: number } = {}): Promise<AuditRecord[]> {
    const params = new URLSearchParams({ limit: String(query.limit ?? 500) });
    if (query.referralId) params.set('referralId', query.referralId);
    if (query.crmId) params.set('crmId', query.crmId);
    return (await this.api<AuditResponse>(`/api/audit?${params.toString()}`)).entries;
  }

  async conflicts(): Promise<HeldConflict[]> {
    return (await this.api<ConflictsResponse>('/api/conflicts')).conflicts;
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return (await this.api<DeadLettersResponse>('/api/dead-letters')).deadLetters;
  }

  reconcile(): Promise<ReconcileResponse> {
    return this.api('/api/reconcile', sendJson('POST', {}));
  }

  /** The service's Prometheus counter of outgoing API calls, summed per `api` and `status` label. */
  async apiCallsByStatus(): Promise<Record<string, number>> {
    const text = await (await adminFetch(`${this.adminUrl}/metrics`)).text();
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

  /** A resume point as the service stored it, read through a separate read-only connection to the SQLite store. */
  async storedWatermark(source: string): Promise<string | undefined> {
    const store = SqliteStore.openReadOnly(String(sqliteStoreConfig(this.config.store, 'this test').path));
    if (!store) return undefined;
    try {
      return await store.sync.getWatermark(source) ?? undefined;
    } finally {
      await store.close();
    }
  }

  /** Waits until neither sandbox has a webhook delivery pending (delivered, dropped or failed). */
  async waitForWebhooks(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      'every webhook delivery to settle',
      async () => {
        const [pcLog, crmPending] = await Promise.all([this.pcDeliveries(), this.crmPendingDeliveries()]);
        return pcLog.pending === 0 && crmPending === 0;
      },
      timeoutMs,
      20,
    );
  }

  /**
   * Waits until nothing is left anywhere: no notification pending in either sandbox, no job queued or running in the
   * service, observed `stableChecks` times in a row (a job's write raises a notification, whose job raises nothing).
   */
  async waitForIdle(timeoutMs = 30_000, stableChecks = this.idleStableChecks): Promise<void> {
    let stable = 0;
    await waitFor(
      'the system to go idle (no pending notifications, empty queue)',
      async () => {
        const [pcLog, crmPending, status] = await Promise.all([this.pcDeliveries(), this.crmPendingDeliveries(), this.status()]);
        const idle = pcLog.pending === 0 && crmPending === 0 && status.queueDepth === 0 && status.inFlight === 0;
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
