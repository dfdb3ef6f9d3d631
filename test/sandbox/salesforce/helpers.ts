import jsforce, { type Connection } from 'jsforce';
import { startSalesforceSandbox, type SalesforceSandbox, type SalesforceSandboxOptions } from '../../../src/sandbox/salesforce/index.ts';

export const API_VERSION = '62.0';
export const CLIENT_TAG = 'cosell-sync';

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface SalesforceHarness {
  sandbox: SalesforceSandbox;
  /** Access token of the integration user, obtained through the client-credentials flow. */
  token: string;
  /** The real jsforce client, configured the way the product's connector will be. */
  conn: Connection;
  /** Another jsforce connection on the same token, optionally tagging writes with Sforce-Call-Options. */
  connection: (options?: { callOptions?: Record<string, string>; accessToken?: string }) => Connection;
  /** Raw HTTP to the sandbox; `/services/data/...` calls carry the bearer token unless headers override it. */
  http: <T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<HttpResult<T>>;
  /** The control API. */
  control: <T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<HttpResult<T>>;
  close: () => Promise<void>;
}

async function call<T>(url: string, method: string, body: unknown, headers: Record<string, string>): Promise<HttpResult<T>> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export async function clientCredentialsToken(url: string): Promise<string> {
  const response = await fetch(`${url}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'cosell-client', client_secret: 'cosell-secret' }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

export async function startHarness(options: SalesforceSandboxOptions = {}): Promise<SalesforceHarness> {
  const sandbox = await startSalesforceSandbox({ port: 0, ...options });
  const token = await clientCredentialsToken(sandbox.url);
  const connection = (extra: { callOptions?: Record<string, string>; accessToken?: string } = {}): Connection =>
    new jsforce.Connection({ instanceUrl: sandbox.url, accessToken: extra.accessToken ?? token, version: API_VERSION, ...(extra.callOptions ? { callOptions: extra.callOptions } : {}) });
  return {
    sandbox,
    token,
    conn: connection(),
    connection,
    http: (method, path, body, headers = {}) => call(`${sandbox.url}${path}`, method, body, { authorization: `Bearer ${token}`, ...headers }),
    control: (method, path, body, headers = {}) => call(`${sandbox.url}${path}`, method, body, headers),
    close: () => sandbox.close(),
  };
}

/** The fields of a jsforce HttpApiError (errorCode, data = the parsed error entry or array). */
export interface JsforceError {
  name: string;
  errorCode: string;
  message: string;
  data: unknown;
}

export async function expectJsforceError(promise: PromiseLike<unknown>): Promise<JsforceError> {
  try {
    await promise;
  } catch (error) {
    return error as JsforceError;
  }
  throw new Error('expected the jsforce call to fail');
}

export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A minimal Opportunity body with the three required fields. */
export function opportunity(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { Name: 'Contoso - 500 seats', StageName: 'Prospecting', CloseDate: '2026-12-31', Amount: 50_000, ...overrides };
}
