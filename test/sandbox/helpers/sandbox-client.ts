import { startPartnerCenterSandbox, type PartnerCenterSandbox, type PartnerCenterSandboxOptions } from '../../../src/sandbox/partner-center/index.ts';

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

export type Json = Record<string, unknown>;

/** A thin HTTP client for tests: real requests, raw results, no retries or magic. */
export class SandboxClient {
  constructor(
    readonly sandbox: PartnerCenterSandbox,
    readonly token = 'test-token',
  ) {}

  get url(): string {
    return this.sandbox.url;
  }

  async request<T = Json>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const response = await fetch(path.startsWith('http') ? path : `${this.url}${path}`, init);
    const text = await response.text();
    let json: unknown = undefined;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: response.status, headers: response.headers, text, json: json as T };
  }

  /** Partner-facing API call with a bearer token. */
  api<T = Json>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    return this.request<T>(method, path, body, { authorization: `Bearer ${this.token}`, ...headers });
  }

  control<T = Json>(method: string, path: string, body?: unknown): Promise<HttpResult<T>> {
    return this.request<T>(method, `/_sandbox${path}`, body);
  }

  async reset(): Promise<void> {
    await this.control('DELETE', '/faults');
    await this.control('DELETE', '/referrals');
    await this.control('DELETE', '/webhooks/registration');
    await this.control('DELETE', '/webhooks/deliveries');
    await this.control('DELETE', '/requests');
  }

  async createIncoming(overrides: Json = {}): Promise<Json> {
    const result = await this.control('POST', '/referrals/incoming', overrides);
    if (result.status !== 201) throw new Error(`incoming referral failed: ${result.status} ${result.text}`);
    return result.json;
  }

  async register(webhookUrl: string, events: string[], extra: Json = {}): Promise<void> {
    const result = await this.api('PUT', '/webhooks/v1/registration', { WebhookUrl: webhookUrl, WebhookEvents: events, ...extra });
    if (result.status !== 200) throw new Error(`registration failed: ${result.status} ${result.text}`);
  }
}

export async function startSandbox(options: PartnerCenterSandboxOptions = {}): Promise<SandboxClient> {
  const sandbox = await startPartnerCenterSandbox({ port: 0, ...options });
  return new SandboxClient(sandbox);
}
