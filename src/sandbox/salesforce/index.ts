import { silentLogger } from '../../util/logger.ts';
import { FaultInjector } from '../shared/faults.ts';
import { listenSandbox, type SandboxListenOptions } from '../shared/listen.ts';
import { CURRENCY_CODES } from '../shared/iso-codes.ts';
import { RequestCounter } from '../shared/request-counter.ts';
import { ApiUsage, DEFAULT_DAILY_API_LIMIT } from './api/api-usage.ts';
import { buildSalesforceApp } from './app.ts';
import { DEFAULT_SESSION_TIMEOUT_MS, SessionRegistry } from './auth/tokens.ts';
import { ALL_USERS, SANDBOX_ORGANIZATION, SANDBOX_USERS } from './auth/users.ts';
import { BayeuxServer, DEFAULT_BAYEUX_OPTIONS } from './cdc/bayeux-server.ts';
import { ChangeEventBuilder } from './cdc/change-event-builder.ts';
import { ChangePublisher } from './cdc/change-publisher.ts';
import { ChangeEventLog, DEFAULT_RETENTION } from './cdc/event-log.ts';
import { tokenFromAuthorization } from './auth/tokens.ts';
import type { SalesforceContext } from './context.ts';
import { RecordService } from './data/record-service.ts';
import { RecordStore } from './data/record-store.ts';
import { StageCatalog } from './data/stages.ts';
import { IdGenerator, KEY_PREFIX } from './ids.ts';
import { DEFAULT_OUTBOUND_RETRY, OutboundMessaging } from './outbound/outbound-messaging.ts';
import { createStandardRegistry, type CurrencySettings } from './schema/standard-objects.ts';
import { ToolingOrg } from './schema/tooling-org.ts';
import { QueryCursors } from './soql/query-cursors.ts';

/*
 * The Salesforce sandbox (`cosell sandbox salesforce`, see README.md): REST API under /services/data/vXX.X/ (sObjects,
 * describe, upsert by external id, sObject Collections, /composite, SOQL query/queryAll with paging, getUpdated/
 * getDeleted, limits), the Tooling API's CustomField, OAuth 2.0 token endpoint (client credentials, JWT bearer,
 * password), Change Data Capture over CometD at /cometd/<version>, Outbound Messages, and the control API under
 * /_sandbox/.
 */
export { SANDBOX_ORGANIZATION, SANDBOX_USERS } from './auth/users.ts';

export interface SalesforceSandboxOptions extends SandboxListenOptions {
  /** The newest API version served (default '62.0'); versions 20.0 up to it are accepted, newer ones are a 404. */
  apiVersion?: string;
  /** Default true: CurrencyIsoCode on records (Salesforce Object Reference "Opportunity"). */
  multiCurrency?: boolean;
  /** Active currencies (the CurrencyIsoCode picklist). Default: every ISO 4217 code, so any referral currency fits. */
  currencies?: string[];
  /** Default 'USD'. */
  corporateCurrency?: string;
  outboundMessageRetry?: { initialDelayMs?: number; maxDelayMs?: number; giveUpAfterMs?: number; timeoutMs?: number };
  /** Records per query page (default 2000, REST API "Query"); small values let tests page through nextRecordsUrl. */
  queryBatchSize?: number;
  /** Daily API allocation reported in Sforce-Limit-Info (default 15000, Developer Edition). */
  dailyApiLimit?: number;
  /** Idle time after which an access token stops working (default 2 h). */
  sessionTimeoutMs?: number;
  /** Change event retention (default 72 h / 100 000 events, Change Data Capture Developer Guide). */
  cdcRetention?: { maxAgeMs?: number; maxEvents?: number };
  /** How long a CometD connect is held open (default 110 s, Salesforce's advice). */
  streamingLongPollMs?: number;
  /**
   * Team selling ("Opportunity Teams") enabled (default true). When false the org has no OpportunityTeamMember object:
   * its REST routes answer 404 NOT_FOUND and SOQL naming it INVALID_TYPE, as in an org that never enabled the feature.
   */
  opportunityTeams?: boolean;
}

export interface SalesforceSandbox {
  url: string; // e.g. http://127.0.0.1:4103 — the instance URL; the REST API is under `${url}/services/data/v62.0/`
  organizationId: string;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 4103;
export const DEFAULT_API_VERSION = '62.0';

function currencySettings(options: SalesforceSandboxOptions): CurrencySettings {
  const corporateCurrency = (options.corporateCurrency ?? 'USD').toUpperCase();
  const currencies = [...new Set((options.currencies ?? [...CURRENCY_CODES]).map((code) => code.toUpperCase()))];
  for (const code of [...currencies, corporateCurrency]) if (!CURRENCY_CODES.has(code)) throw new Error(`Salesforce sandbox: ${code} is not an ISO 4217 currency code`);
  if (!currencies.includes(corporateCurrency)) currencies.unshift(corporateCurrency);
  return { multiCurrency: options.multiCurrency ?? true, currencies, corporateCurrency };
}

/**
 * Users, the organization and the active currencies are rows too, so SOQL (`Owner.Name`, `SELECT Id FROM
 * Organization`, `SELECT IsoCode FROM CurrencyType`) reads them.
 */
function seedOrgRows(store: RecordStore, ids: IdGenerator, currency: CurrencySettings): void {
  const { multiCurrency, corporateCurrency } = currency;
  const at = Date.parse('2026-01-01T00:00:00Z');
  const audit = { IsDeleted: false, CreatedDate: at, CreatedById: SANDBOX_USERS.integration.id, LastModifiedDate: at, LastModifiedById: SANDBOX_USERS.integration.id, SystemModstamp: at };
  for (const user of ALL_USERS) {
    store.put({
      id: user.id,
      sobject: 'User',
      deletedAt: null,
      sequence: store.nextSequence(),
      values: {
        Id: user.id,
        Username: user.username,
        FirstName: user.firstName,
        LastName: user.lastName,
        Name: `${user.firstName} ${user.lastName}`,
        Alias: user.alias,
        Email: user.email,
        IsActive: true,
        UserType: 'Standard',
        ...(multiCurrency ? { DefaultCurrencyIsoCode: corporateCurrency } : {}),
        ...audit,
      },
    });
  }
  store.put({
    id: SANDBOX_ORGANIZATION.id,
    sobject: 'Organization',
    deletedAt: null,
    sequence: store.nextSequence(),
    values: {
      Id: SANDBOX_ORGANIZATION.id,
      Name: SANDBOX_ORGANIZATION.name,
      OrganizationType: SANDBOX_ORGANIZATION.organizationType,
      InstanceName: SANDBOX_ORGANIZATION.instanceName,
      IsSandbox: false,
      DefaultLocaleSidKey: 'en_US',
      LanguageLocaleKey: 'en_US',
      TimeZoneSidKey: 'GMT',
      ...audit,
    },
  });
  if (!multiCurrency) return;
  for (const code of currency.currencies) {
    const id = ids.next(KEY_PREFIX.CurrencyType);
    store.put({
      id,
      sobject: 'CurrencyType',
      deletedAt: null,
      sequence: store.nextSequence(),
      // Conversion rates are not modelled: every currency converts 1:1 (the sandbox never converts amounts).
      values: { Id: id, IsoCode: code, ConversionRate: 1, DecimalPlaces: 2, IsActive: true, IsCorporate: code === corporateCurrency, ...audit },
    });
  }
}

export async function startSalesforceSandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const logger = options.logger ?? silentLogger();
  const host = options.host ?? '127.0.0.1';
  const apiVersion = options.apiVersion ?? DEFAULT_API_VERSION;
  if (!/^\d{2,3}\.0$/.test(apiVersion) || Number.parseInt(apiVersion, 10) < 20) throw new Error(`Salesforce sandbox: apiVersion must look like '62.0' (got '${apiVersion}')`);
  const currency = currencySettings(options);

  let url = '';
  let sampleSequence = 0;
  const ids = new IdGenerator();
  const registry = createStandardRegistry(currency, { opportunityTeams: options.opportunityTeams ?? true });
  const store = new RecordStore();
  seedOrgRows(store, ids, currency);
  const stages = new StageCatalog(registry, store, ids, SANDBOX_USERS.integration.id);
  stages.seedDefaults();
  const sessions = new SessionRegistry(options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS);
  const faults = new FaultInjector();
  const events = new ChangeEventLog({ ...DEFAULT_RETENTION, ...options.cdcRetention });
  const outbound = new OutboundMessaging(
    registry,
    store,
    ids,
    { organizationId: SANDBOX_ORGANIZATION.id, apiVersion, baseUrl: () => url, issueSessionId: () => sessions.issue(SANDBOX_USERS.integration).accessToken },
    { ...DEFAULT_OUTBOUND_RETRY, ...options.outboundMessageRetry },
    logger.child({ part: 'salesforce-outbound-messages' }),
    faults,
  );
  const cometd = new BayeuxServer(
    events,
    registry,
    (authorization) => {
      const token = tokenFromAuthorization(authorization);
      return token ? sessions.resolve(token)?.id : undefined;
    },
    { ...DEFAULT_BAYEUX_OPTIONS, ...(options.streamingLongPollMs !== undefined ? { longPollMs: options.streamingLongPollMs } : {}) },
  );

  const ctx: SalesforceContext = {
    logger,
    apiVersion,
    organizationId: SANDBOX_ORGANIZATION.id,
    registry,
    store,
    ids,
    stages,
    records: new RecordService(registry, store, ids, stages, currency),
    currency,
    tooling: new ToolingOrg(registry, store, ids),
    sessions,
    cursors: new QueryCursors(ids),
    queryBatchSize: Math.max(1, Math.min(options.queryBatchSize ?? 2000, 2000)),
    usage: new ApiUsage(options.dailyApiLimit ?? DEFAULT_DAILY_API_LIMIT),
    faults,
    requests: new RequestCounter(),
    events,
    publisher: new ChangePublisher(new ChangeEventBuilder(registry), events, outbound),
    cometd,
    outbound,
    baseUrl: () => url,
    nextSampleSequence: () => sampleSequence++,
  };

  const app = buildSalesforceApp(ctx);
  const shutdown = async (): Promise<void> => {
    cometd.close();
    await outbound.close();
  };
  // Held long polls are answered first, or app.close() would wait for them.
  const server = await listenSandbox(app, {
    port: options.port ?? DEFAULT_PORT,
    host,
    logger,
    name: 'Salesforce',
    stop: shutdown,
    logFields: { organizationId: SANDBOX_ORGANIZATION.id },
  });
  url = server.url;
  return { ...server, organizationId: SANDBOX_ORGANIZATION.id };
}
