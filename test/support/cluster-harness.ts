import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { parseConfig } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { partnerCenterClients } from '../../src/partner-center/from-config.ts';
import { REFERRAL_EVENT_NAMES } from '../../src/partner-center/webhook-event.ts';
import type { DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import type { SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import type { StatusResponse } from '../../src/server/admin-api.ts';
import type { DeadLetter } from '../../src/store/types.ts';
import { testAdminConfig } from './admin.ts';
import { createDynamicsDeal, provisionCrms, startCrmSandboxes } from './crm-sandboxes.ts';
import { startBalancer, startRecorder, type Balancer, type RecordedRequest, type Recorder } from './cluster-http.ts';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort, type ServiceProcess } from './service-process.ts';
import { adminJson, json, prepareHarness, sendJson, sleep, waitFor, type HarnessGround, type Row, type ServiceHarnessOptions } from './service-harness.ts';

/*
 * Several `cosell start` instances on one PostgreSQL database, as a cluster behind a load balancer: the Partner Center
 * (strict co-sell), Dataverse and Salesforce sandboxes, one fresh database, N child processes with the same
 * configuration but for ports, and a round-robin balancer in front of their public listeners whose URL is the webhook
 * URL every sandbox delivers to (Partner Center and Dataverse webhooks; Salesforce CDC is pulled by whoever leads).
 *
 * Each instance reaches each vendor API through its own recording proxy (cluster-http.ts), so the test can count the
 * vendor writes per record and per instance, and see which instance holds the Salesforce CDC subscription or follows
 * Dataverse change tracking (the leader's work). The proxies change only the vendor URLs' ports in each configuration.
 */

export type Vendor = 'partnerCenter' | 'dynamics' | 'salesforce';
export const VENDORS: readonly Vendor[] = ['partnerCenter', 'dynamics', 'salesforce'];

export interface ClusterOptions {
  instances: number;
  /**
   * A database of this cluster's own (created empty by the caller); dropped by the caller after close(). `sqlite`
   * instead runs one instance on a SQLite file: only the harness's own test uses it, to check the balancer and the
   * recording proxies on a service that needs nothing else.
   */
  databaseUrl: string | 'sqlite';
  sync?: ConfigInput['sync'];
  logLevel?: ServiceHarnessOptions['logLevel'];
  pcDelivery?: ServiceHarnessOptions['pcDelivery'];
  /** How long the Salesforce sandbox holds a CometD connect (default 2 s, so a dead subscriber's slot frees quickly). */
  streamingLongPollMs?: number;
}

export interface ClusterInstance {
  readonly index: number;
  readonly port: number;
  readonly adminPort: number;
  readonly dir: string;
  readonly configInput: ConfigInput;
  readonly recorders: Record<Vendor, Recorder>;
  process: ServiceProcess | undefined;
  /** When the last SIGKILL landed (ms since epoch). */
  killedAt: number | undefined;
}

/** One vendor write as a recorder saw it, with who sent it. */
export interface VendorWrite extends RecordedRequest {
  vendor: Vendor;
  instance: number;
}

export class ClusterHarness {
  private constructor(
    private readonly ground: HarnessGround,
    readonly dv: DataverseSandbox,
    readonly sf: SalesforceSandbox,
    readonly balancer: Balancer,
    readonly instances: ClusterInstance[],
    /** The cluster's database (the caller created it and drops it). */
    readonly databaseUrl: string | 'sqlite',
  ) {}

  get pc(): HarnessGround['pc'] {
    return this.ground.pc;
  }

  static async start(options: ClusterOptions): Promise<ClusterHarness> {
    const ground = await prepareHarness('cosell-sync-cluster-', { mode: 'child', logLevel: options.logLevel ?? 'error', ...(options.pcDelivery ? { pcDelivery: options.pcDelivery } : {}) });
    const sandboxes = await startCrmSandboxes(ground.dir, options.streamingLongPollMs ?? 2_000);
    const { dv, sf } = sandboxes;
    const instances: ClusterInstance[] = [];
    let balancer: Balancer | undefined;
    try {
      if (options.databaseUrl === 'sqlite' && options.instances !== 1) throw new Error('a SQLite store serves one instance only');
      const urlFile = join(ground.dir, 'postgres.url');
      writeFileSync(urlFile, `${options.databaseUrl}\n`, { mode: 0o600 });
      const store: ConfigInput['store'] =
        options.databaseUrl === 'sqlite' ? { path: join(ground.dir, 'cosell.db') } : { driver: 'postgres', url: { file: urlFile }, pool: { max: 5 } };
      const targets: Record<Vendor, string> = { partnerCenter: ground.pc.url, dynamics: dv.url, salesforce: sf.url };
      // The configuration every instance shares, before its own ports.
      const shared = (pcUrl: string, dvUrl: string, sfUrl: string): ConfigInput => ({
        ...ground.configInput,
        store,
        sync: { reconcileIntervalSeconds: 3600, ...options.sync },
        partnerCenter: { ...ground.configInput.partnerCenter!, referralsApiUrl: pcUrl, webhooksApiUrl: pcUrl },
        dynamics: { orgUrl: dvUrl, mode: 'sandbox', webhook: { secret: { file: sandboxes.dvSecretFile } } },
        salesforce: { instanceUrl: sfUrl, mode: 'sandbox', notifications: 'cdc', organizationId: sf.organizationId },
      });
      for (let index = 0; index < options.instances; index++) {
        const recorders = {} as Record<Vendor, Recorder>;
        for (const vendor of VENDORS) recorders[vendor] = await startRecorder(targets[vendor]);
        const port = await freePort();
        const adminPort = await freePort();
        const dir = join(ground.dir, `instance-${index}`);
        mkdirSync(dir);
        const configInput: ConfigInput = {
          ...shared(recorders.partnerCenter.url, recorders.dynamics.url, recorders.salesforce.url),
          server: { host: '127.0.0.1', port },
          admin: testAdminConfig(adminPort),
        };
        instances.push({ index, port, adminPort, dir, configInput, recorders, process: undefined, killedAt: undefined });
      }
      balancer = await startBalancer(() => instances.map((i) => `http://127.0.0.1:${i.port}`));
      const harness = new ClusterHarness(ground, dv, sf, balancer, instances, options.databaseUrl);

      // Provisioning straight against the sandboxes (an operator's one-off `cosell setup`), webhooks to the balancer.
      const setupConfig = parseConfig('cluster-harness', shared(ground.pc.url, dv.url, sf.url));
      await provisionCrms(setupConfig, sandboxes, balancer.url);
      // The first instance migrates the empty database alone; the others then start side by side.
      await harness.startInstance(0);
      await Promise.all(instances.slice(1).map((i) => harness.startInstance(i.index)));
      const clients = await partnerCenterClients(setupConfig.partnerCenter);
      await clients.webhooks.register({ webhookUrl: `${balancer.url}/webhooks/partner-center`, webhookEvents: [...REFERRAL_EVENT_NAMES] });
      return harness;
    } catch (error) {
      for (const instance of instances) instance.process?.child.kill('SIGKILL');
      await closeAll(instances, balancer);
      await sandboxes.close();
      await ground.dispose();
      throw error;
    }
  }

  // ---- the instances --------------------------------------------------------------------------------------------

  instance(index: number): ClusterInstance {
    const instance = this.instances[index];
    if (!instance) throw new Error(`no instance ${index}`);
    return instance;
  }

  running(index: number): boolean {
    const child = this.instance(index).process?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  runningIndexes(): number[] {
    return this.instances.filter((i) => this.running(i.index)).map((i) => i.index);
  }

  adminUrl(index: number): string {
    return `http://127.0.0.1:${this.instance(index).adminPort}`;
  }

  get adminUrls(): string[] {
    return this.instances.map((i) => this.adminUrl(i.index));
  }

  /** The balancer: the public webhook URL of the cluster. */
  get url(): string {
    return this.balancer.url;
  }

  async startInstance(index: number): Promise<void> {
    const instance = this.instance(index);
    if (this.running(index)) throw new Error(`instance ${index} is already running`);
    instance.process = await spawnInstance(instance.dir, instance.configInput, instance.port, this.startTimeoutMs);
  }

  /** How long an instance may take to answer /healthz: generous, as a restart may land amid a burst on 2 cores. */
  startTimeoutMs = 120_000;

  /** SIGKILL, and wait until the process is gone. Returns when the kill landed. */
  async killInstance(index: number): Promise<number> {
    const instance = this.instance(index);
    const child = instance.process?.child;
    if (!child || !this.running(index)) throw new Error(`instance ${index} is not running`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    instance.killedAt = Date.now();
    child.kill('SIGKILL');
    await exited;
    return instance.killedAt;
  }

  async restartInstance(index: number): Promise<void> {
    if (this.running(index)) await this.killInstance(index);
    await this.startInstance(index);
  }

  async close(): Promise<void> {
    for (const instance of this.instances) {
      if (this.running(instance.index)) await this.killInstance(instance.index).catch(() => undefined);
    }
    await closeAll(this.instances, this.balancer);
    await this.dv.close();
    await this.sf.close();
    await this.ground.dispose();
  }

  /** What an instance printed (stderr, then stdout), for a failing test's message. */
  output(index: number): string {
    const p = this.instance(index).process;
    return p ? `${p.stderr().slice(-3000)}\n${p.stdout().slice(-3000)}` : '';
  }

  // ---- what the instances sent to the vendors -------------------------------------------------------------------

  /** Every request an instance sent to a vendor API, oldest first. */
  requests(index: number, vendor: Vendor): RecordedRequest[] {
    return this.instance(index).recorders[vendor].requests;
  }

  /**
   * Every record write sent to any vendor by any instance: POST / PATCH / PUT / DELETE, except sign-ins (token
   * endpoints) and CometD (the CDC subscription's protocol, all POSTs).
   */
  vendorWrites(): VendorWrite[] {
    const out: VendorWrite[] = [];
    for (const instance of this.instances) {
      for (const vendor of VENDORS) {
        for (const r of instance.recorders[vendor].requests) {
          if (!/^(POST|PATCH|PUT|DELETE)$/.test(r.method) || /token|\/cometd\//i.test(r.path.split('?')[0] ?? '')) continue;
          out.push({ ...r, vendor, instance: instance.index });
        }
      }
    }
    return out.sort((a, b) => a.startedAt - b.startedAt);
  }

  /** How many vendor writes mention `text` (a referral id, a record id, an edited value) in their path or body. */
  writesMentioning(text: string, vendor?: Vendor): VendorWrite[] {
    const encoded = encodeURIComponent(text);
    return this.vendorWrites().filter((w) => (vendor === undefined || w.vendor === vendor) && (w.body.includes(text) || w.path.includes(text) || w.path.includes(encoded)));
  }

  /**
   * The writes that created an incoming referral's opportunity in each CRM, whichever path created it (a webhook's job
   * or a reconcile pass's backfill): Dynamics upserts on the referral key (PATCH opportunities(cosell_referralidentifier='…'),
   * alone or in a $batch), Salesforce sends a create-only POST inside a /composite call or an sObject collection.
   * A second instance working the same event would repeat exactly these.
   */
  opportunityCreates(referralId: string): Record<'dynamics' | 'salesforce', VendorWrite[]> {
    return {
      dynamics: this.writesMentioning(referralId, 'dynamics').filter(
        (w) =>
          (w.method === 'PATCH' && /opportunities\(cosell_referralidentifier/.test(decodeURIComponent(w.path))) ||
          // A backfill creates in a $batch change set: the same upsert by key, one part per referral.
          (w.path.includes('$batch') && /PATCH [^\s]*opportunities\(cosell_referralidentifier/.test(decodeURIComponent(w.body))),
      ),
      salesforce: this.writesMentioning(referralId, 'salesforce').filter(
        (w) =>
          (/"method":"POST"/.test(w.body) && /\/sobjects\/Opportunity"/.test(w.body)) ||
          // A backfill creates through sObject collections, one record per referral: posted on their own
          // (POST /composite/sobjects) or as a subrequest of one /composite call with the read of their versions.
          (w.method === 'POST' && /\/composite\/sobjects(\?|$)/.test(w.path) && /"type":"Opportunity"/.test(w.body)) ||
          (w.method === 'POST' && /\/composite(\?|$)/.test(w.path) && /\/composite\/sobjects"/.test(w.body) && /"type":"Opportunity"/.test(w.body)),
      ),
    };
  }

  /**
   * Vendor writes per record: the record key is the write's path with its API version dropped (a PATCH of one record,
   * an upsert by key, a POST to a collection). Counts how often each was written, by whom.
   */
  writesPerRecord(): Map<string, { count: number; instances: Set<number> }> {
    const perRecord = new Map<string, { count: number; instances: Set<number> }>();
    for (const w of this.vendorWrites()) {
      const key = `${w.vendor} ${w.method} ${(w.path.split('?')[0] ?? '').replace(/\/v\d+(\.\d+)?\//, '/')}`;
      const entry = perRecord.get(key) ?? { count: 0, instances: new Set<number>() };
      entry.count += 1;
      entry.instances.add(w.instance);
      perRecord.set(key, entry);
    }
    return perRecord;
  }

  /**
   * Instances subscribed to Salesforce CDC: a CometD request in flight, or one that ended within `withinMs` (a
   * subscriber always has its next connect open within the long poll).
   */
  cdcSubscribers(withinMs = 1_000): number[] {
    const now = Date.now();
    return this.instances
      .filter((instance) => this.running(instance.index))
      .filter((instance) => instance.recorders.salesforce.requests.some((r) => r.path.includes('/cometd/') && (r.endedAt === undefined || now - r.endedAt <= withinMs)))
      .map((i) => i.index);
  }

  /** Instances that asked Dataverse for changes (change tracking: a new session or a delta link) since `since`. */
  changeTrackers(since: number): number[] {
    return this.instances
      .filter((instance) => instance.recorders.dynamics.requests.some((r) => r.startedAt >= since && isChangeTracking(r)))
      .map((i) => i.index);
  }

  /** The first CometD handshake or subscribe an instance other than `except` sent after `since` (ms since epoch). */
  firstCdcSubscribeAfter(since: number, except: number): { instance: number; at: number } | undefined {
    let first: { instance: number; at: number } | undefined;
    for (const instance of this.instances) {
      if (instance.index === except) continue;
      for (const r of instance.recorders.salesforce.requests) {
        if (r.startedAt < since || !r.path.includes('/cometd/') || !/\/meta\/subscribe/.test(r.body)) continue;
        if (!first || r.startedAt < first.at) first = { instance: instance.index, at: r.startedAt };
      }
    }
    return first;
  }

  /** The first change-tracking request an instance other than `except` sent after `since`. */
  firstChangeTrackingAfter(since: number, except: number): { instance: number; at: number } | undefined {
    let first: { instance: number; at: number } | undefined;
    for (const instance of this.instances) {
      if (instance.index === except) continue;
      for (const r of instance.recorders.dynamics.requests) {
        if (r.startedAt < since || !isChangeTracking(r)) continue;
        if (!first || r.startedAt < first.at) first = { instance: instance.index, at: r.startedAt };
      }
    }
    return first;
  }

  /** The instance holding the CDC subscription, once exactly one does (waits for it). */
  async cdcLeader(timeoutMs = 30_000): Promise<number> {
    return waitFor('exactly one CDC subscriber', async () => {
      const subscribers = this.cdcSubscribers();
      return subscribers.length === 1 ? subscribers[0] : undefined;
    }, timeoutMs, 100);
  }

  // ---- the shared queue and the admin API -----------------------------------------------------------------------

  api<T>(index: number, path: string, init?: RequestInit): Promise<T> {
    return adminJson<T>(`${this.adminUrl(index)}${path}`, init);
  }

  /** The admin API of the first running instance (the store is shared: any of them answers for the cluster). */
  anyApi<T>(path: string, init?: RequestInit): Promise<T> {
    const [index] = this.runningIndexes();
    if (index === undefined) throw new Error('no instance is running');
    return this.api(index, path, init);
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return (await this.anyApi<{ deadLetters: DeadLetter[] }>('/api/dead-letters')).deadLetters;
  }

  reconcile(): Promise<unknown> {
    return this.anyApi('/api/reconcile', sendJson('POST', {}));
  }

  /**
   * Waits until nothing is left anywhere: no webhook pending in either sandbox, and on every running instance an empty
   * queue and nothing in flight, `stableChecks` times in a row (CDC has no delivery log, hence the repeats).
   */
  async waitForIdle(timeoutMs = 60_000, stableChecks = 8): Promise<void> {
    let stable = 0;
    await waitFor(
      'the cluster to go idle (no pending notifications, empty queue on every instance)',
      async () => {
        const running = this.runningIndexes();
        const [pcLog, dvLog, statuses] = await Promise.all([
          json<{ pending: number }>(`${this.pc.url}/_sandbox/webhooks/deliveries`),
          json<{ pending: number }>(`${this.dv.url}/_sandbox/webhooks/deliveries`),
          Promise.all(running.map((i) => this.api<StatusResponse>(i, '/api/status').catch(() => undefined))),
        ]);
        const busy = statuses.reduce((sum, s) => sum + (s ? s.queueDepth + s.inFlight : 1), 0);
        const idle = running.length > 0 && pcLog.pending === 0 && dvLog.pending === 0 && busy === 0;
        stable = idle ? stable + 1 : 0;
        return stable >= stableChecks;
      },
      timeoutMs,
      100,
    );
  }

  /** A read of the cluster's database on a connection of its own (the test's view, not an instance's). */
  async sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  /**
   * graphile-worker's jobs table, straight from the database: `pending` is work not finished (locked by a runner, or
   * with attempts left: queued or waiting to retry; the queue's own depth predicate), `exhausted` rows are jobs out of
   * attempts (graphile-worker keeps those; a job replaced while it ran is left that way too).
   */
  async queuedJobs(): Promise<{ pending: number; exhausted: number }> {
    const [row] = await this.sql<{ pending: string; exhausted: string }>(
      `SELECT count(*) FILTER (WHERE locked_at IS NOT NULL OR attempts < max_attempts)::text AS pending,
              count(*) FILTER (WHERE locked_at IS NULL AND attempts >= max_attempts)::text AS exhausted
         FROM graphile_worker.jobs`,
    );
    return { pending: Number(row?.pending ?? 0), exhausted: Number(row?.exhausted ?? 0) };
  }

  /** Inbox rows per (source, dedup key) that occur more than once: an event stored twice. */
  async inboxDuplicates(): Promise<{ source: string; dedupKey: string; n: number }[]> {
    return (await this.sql<{ source: string; dedup_key: string; n: string }>(
      'SELECT source, dedup_key, count(*)::text AS n FROM inbox GROUP BY source, dedup_key HAVING count(*) > 1',
    )).map((r) => ({ source: r.source, dedupKey: r.dedup_key, n: Number(r.n) }));
  }

  /** Inbox rows about one resource (a referral id, a CRM record id). */
  async inboxRowsFor(resourceId: string): Promise<{ source: string; dedupKey: string; eventName: string }[]> {
    return (await this.sql<{ source: string; dedup_key: string; event_name: string }>(
      'SELECT source, dedup_key, event_name FROM inbox WHERE lower(resource_id) = lower($1) ORDER BY id',
      [resourceId],
    )).map((r) => ({ source: r.source, dedupKey: r.dedup_key, eventName: r.event_name }));
  }

  // ---- Partner Center and the CRMs, as Microsoft and the sellers ------------------------------------------------

  incomingReferral(body: Row = {}): Promise<Row & { id: string }> {
    return json(`${this.pc.url}/_sandbox/referrals/incoming`, sendJson('POST', body));
  }

  async referrals(): Promise<Row[]> {
    return (await json<{ value: Row[] }>(`${this.pc.url}/_sandbox/referrals`)).value;
  }

  async dvOpportunities(): Promise<Row[]> {
    return (await json<{ value: Row[] }>(`${this.dv.url}/_sandbox/records/opportunities`)).value;
  }

  async sfOpportunities(): Promise<Row[]> {
    const body = await json<{ value?: Row[]; records?: Row[] }>(`${this.sf.url}/_sandbox/records/Opportunity`);
    return body.value ?? body.records ?? [];
  }

  dvSellerEdit(entitySet: string, id: string, patch: Row): Promise<Row> {
    return json(`${this.dv.url}/_sandbox/records/${entitySet}/${id}`, sendJson('PATCH', patch));
  }

  sfSellerEdit(sobject: string, id: string, patch: Row): Promise<Row> {
    return json(`${this.sf.url}/_sandbox/records/${sobject}/${id}`, sendJson('PATCH', patch));
  }

  sfCreate(sobject: string, body: Row): Promise<Row> {
    return json(`${this.sf.url}/_sandbox/records/${sobject}`, sendJson('POST', body));
  }

  /** A Dynamics seller's new deal (account, contact, opportunity), "Sync with Partner Center" = Yes. */
  dvCreateDeal(deal: { name: string; company: string; value: number }): Promise<{ opportunityId: string }> {
    return createDynamicsDeal(this.dv.url, deal);
  }

  pcLatency(ms: number): Promise<unknown> {
    return json(`${this.pc.url}/_sandbox/faults`, sendJson('POST', { latencyMs: ms }));
  }

  /** Injected latency on every vendor API (Partner Center, Dataverse, Salesforce), as the benchmarks ask. */
  async vendorLatency(ms: number): Promise<void> {
    await Promise.all([this.pc.url, this.dv.url, this.sf.url].map((url) => json(`${url}/_sandbox/faults`, sendJson('POST', { latencyMs: ms }))));
  }

  async clearFaults(): Promise<void> {
    await Promise.all([this.pc.url, this.dv.url, this.sf.url].map((url) => json(`${url}/_sandbox/faults`, { method: 'DELETE' })));
  }
}

const REPO = resolve(import.meta.dirname, '../..');

/**
 * `cosell start` as a child process, as service-process.ts's spawnService does, with a start deadline of the caller's:
 * only a hung test is bounded by it.
 */
async function spawnInstance(dir: string, config: ConfigInput, port: number, timeoutMs: number): Promise<ServiceProcess> {
  const file = join(dir, 'cosell.yaml');
  writeFileSync(file, stringify(config));
  const child = spawn(process.execPath, [join(REPO, 'bin/cosell.js'), 'start', '--config', file], {
    cwd: dir,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`instance exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url, stderr: () => stderr, stdout: () => stdout };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`instance did not become healthy within ${timeoutMs} ms: ${stderr.slice(-2000)} ${stdout.slice(-2000)}`);
}

function isChangeTracking(r: RecordedRequest): boolean {
  return r.method === 'GET' && (/odata\.track-changes/.test(r.prefer) || /(\$|%24)deltatoken/i.test(r.path));
}

async function closeAll(instances: ClusterInstance[], balancer: Balancer | undefined): Promise<void> {
  await balancer?.close();
  for (const instance of instances) {
    for (const recorder of Object.values(instance.recorders)) await recorder.close();
  }
}

/** A small pause helper re-exported for the cluster suites. */
export { sleep };
