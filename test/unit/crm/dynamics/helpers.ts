import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamicsConnector, type DynamicsConnectorOptions } from '../../../../src/crm/dynamics/dynamics-connector.ts';
import type { HttpCallRecord } from '../../../../src/http/call-record.ts';
import { StaticTokenProvider } from '../../../../src/http/tokens.ts';
import { startDataverseSandbox, type DataverseSandbox } from '../../../../src/sandbox/dataverse/index.ts';
import { silentLogger } from '../../../../src/util/logger.ts';

export type Row = Record<string, unknown>;

export interface Harness {
  sandbox: DataverseSandbox;
  calls: HttpCallRecord[];
  connector: DynamicsConnector;
  connect(options?: Partial<DynamicsConnectorOptions>): DynamicsConnector;
  /** The sandbox control API (`/_sandbox/…`): seller edits, record listings, faults, request counts. */
  control<T = Row>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  rows(entitySet: string): Promise<Row[]>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const sandbox = await startDataverseSandbox({ port: 0, webhookRetryDelayMs: 50 });
  const calls: HttpCallRecord[] = [];
  const connect = (options: Partial<DynamicsConnectorOptions> = {}): DynamicsConnector =>
    new DynamicsConnector({
      name: 'dynamics',
      orgUrl: sandbox.url,
      tokenProvider: new StaticTokenProvider('sandbox-token'),
      logger: silentLogger(),
      onCall: (call) => calls.push(call),
      timeoutMs: 10_000,
      ...options,
    });
  const control = async <T = Row>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${sandbox.url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };
  return {
    sandbox,
    calls,
    connector: connect(),
    connect,
    control,
    rows: async (entitySet) => (await control<{ value: Row[] }>('GET', `/_sandbox/records/${entitySet}`)).body.value,
    close: () => sandbox.close(),
  };
}

export interface ReceivedWebhook {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local HTTP endpoint standing in for the service's `POST /webhooks/dynamics`. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  url = '';
  private server: Server | undefined;
  private waiters: Array<() => void> = [];

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end();
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/webhooks/dynamics`;
    return this;
  }

  /** Resolves with the first delivery matching `predicate`, waiting up to `timeoutMs`. */
  async waitFor(predicate: (webhook: ReceivedWebhook) => boolean, timeoutMs = 5_000): Promise<ReceivedWebhook> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(predicate);
      if (found) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no matching webhook within ${timeoutMs} ms (received ${this.received.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
