import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamicsWebApi, type Config } from 'dynamics-web-api';
import { startDataverseSandbox, type DataverseSandbox, type DataverseSandboxOptions } from '../../../src/sandbox/dataverse/index.ts';

export interface SandboxHarness {
  sandbox: DataverseSandbox;
  /** The real client, configured the way the product's connector will be: serverUrl + onTokenRefresh. */
  api: DynamicsWebApi;
  client: (config?: Config) => DynamicsWebApi;
  control: <T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: T }>;
  close: () => Promise<void>;
}

export async function startHarness(options: DataverseSandboxOptions = {}): Promise<SandboxHarness> {
  const sandbox = await startDataverseSandbox({ port: 0, ...options });
  const client = (config: Config = {}): DynamicsWebApi =>
    new DynamicsWebApi({ serverUrl: sandbox.url, onTokenRefresh: async () => 'test-token', propagateErrors: true, ...config });
  const control = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };
  return { sandbox, api: client(), client, control, close: () => sandbox.close() };
}

/** Reads the fields a dynamics-web-api error carries (status, headers, parsed error body). */
export function errorInfo(error: unknown): { status: number; code: string | undefined; message: string; headers: Record<string, string> } {
  const e = error as { status?: number; code?: string; message?: string; headers?: Record<string, string>; error?: { code?: string; message?: string } };
  return { status: e.status ?? 0, code: e.code || e.error?.code, message: e.message || e.error?.message || '', headers: e.headers ?? {} };
}

export async function expectFailure(promise: Promise<unknown>): Promise<ReturnType<typeof errorInfo>> {
  try {
    await promise;
  } catch (error) {
    return errorInfo(Array.isArray(error) ? error.find((item) => (item as { status?: number }).status) : error);
  }
  throw new Error('expected the call to fail');
}

export interface ReceivedWebhook {
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  json: Record<string, unknown>;
}

/** A real HTTP endpoint standing in for the product's `/webhooks/dynamics` receiver; its answers are scriptable. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  url = '';
  respond: (index: number) => number = () => 200;
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const index = this.received.length;
        this.received.push({ url: req.url ?? '', headers: req.headers, rawBody, json: JSON.parse(rawBody) as Record<string, unknown> });
        res.writeHead(this.respond(index)).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/webhooks/dynamics`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = check();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
