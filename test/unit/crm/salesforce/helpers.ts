import { salesforceConfigSchema, type SalesforceConfigInput } from '../../../../src/config/salesforce.ts';
import { salesforceConnectorOptions } from '../../../../src/crm/salesforce/factory.ts';
import type { HttpCallRecord } from '../../../../src/http/call-record.ts';
import { SalesforceConnector, type SalesforceConnectorOptions } from '../../../../src/crm/salesforce/salesforce-connector.ts';
import { startSalesforceSandbox, type SalesforceSandbox, type SalesforceSandboxOptions } from '../../../../src/sandbox/salesforce/index.ts';
import { silentLogger } from '../../../../src/util/logger.ts';

export type Row = Record<string, unknown>;

export interface Harness {
  sandbox: SalesforceSandbox;
  calls: HttpCallRecord[];
  /** Built the way the service builds it: config schema (sandbox mode) → factory. */
  connector: SalesforceConnector;
  connect(config?: Partial<SalesforceConfigInput>, extra?: Partial<SalesforceConnectorOptions>): Promise<SalesforceConnector>;
  /** The sandbox control API (`/_sandbox/…`): seller edits, stages, gaps, request counts. */
  control<T = Row>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  records(sobject: string): Promise<Row[]>;
  record(sobject: string, id: string): Promise<Row | undefined>;
  /** REST requests the sandbox counted since the last reset, per `METHOD /route`. */
  requests(): Promise<{ total: number; routes: Record<string, number> }>;
  resetRequests(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(sandboxOptions: SalesforceSandboxOptions = {}): Promise<Harness> {
  const sandbox = await startSalesforceSandbox({ port: 0, streamingLongPollMs: 5_000, ...sandboxOptions });
  const calls: HttpCallRecord[] = [];
  const connect = async (config: Partial<SalesforceConfigInput> = {}, extra: Partial<SalesforceConnectorOptions> = {}): Promise<SalesforceConnector> => {
    const parsed = salesforceConfigSchema.parse({ instanceUrl: sandbox.url, mode: 'sandbox', timeoutMs: 10_000, ...config });
    // The factory's config → options mapping, plus knobs the config does not expose (backoff, the same-second guard).
    const options = await salesforceConnectorOptions(parsed, { logger: silentLogger(), onCall: (call) => calls.push(call) });
    return new SalesforceConnector({ ...options, ...extra });
  };
  const control = async <T = Row>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${sandbox.url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };
  const records = async (sobject: string) => (await control<{ value: Row[] }>('GET', `/_sandbox/records/${sobject}`)).body.value;
  return {
    sandbox,
    calls,
    connector: await connect(),
    connect,
    control,
    records,
    record: async (sobject, id) => (await records(sobject)).find((row) => row.Id === id),
    requests: async () => (await control<{ total: number; routes: Record<string, number> }>('GET', '/_sandbox/requests')).body,
    resetRequests: async () => {
      await control('DELETE', '/_sandbox/requests');
    },
    close: () => sandbox.close(),
  };
}

export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Columns as the engine asks for them with the default mapping's opportunity section. */
export const OPPORTUNITY_COLUMNS = [
  { name: 'Name' },
  { name: 'Amount' },
  { name: 'CurrencyIsoCode' },
  { name: 'CloseDate' },
  { name: 'Description' },
  { name: '@state' },
  { name: 'Sync_with_Partner_Center__c' },
  { name: 'Referral_Identifier__c' },
  { name: 'How_can_Microsoft_help__c' },
] as const;

export function sellerOpportunity(overrides: Row = {}): Row {
  return { Name: 'Contoso - 500 seats', StageName: 'Qualification', CloseDate: '2026-12-31', Amount: 50_000, ...overrides };
}
