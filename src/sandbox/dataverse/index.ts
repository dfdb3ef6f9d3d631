import { silentLogger } from '../../util/logger.ts';
import { FaultInjector } from '../shared/faults.ts';
import { listenSandbox, type SandboxListenOptions } from '../shared/listen.ts';
import { RequestCounter } from '../shared/request-counter.ts';
import { BatchExecutor } from './api/batch/batch-executor.ts';
import { DataDispatcher } from './api/dispatcher.ts';
import { buildDataverseApp } from './app.ts';
import { TokenRegistry } from './auth/tokens.ts';
import { ALL_SANDBOX_USERS, applicationUser, sellerUser } from './auth/users.ts';
import type { DataverseContext } from './context.ts';
import { CATALOG_TABLES, seedCatalog } from './data/catalog.ts';
import { createDataServices } from './data/data-services.ts';
import { recordFailedJob } from './webhooks/failed-jobs.ts';
import { DataverseWebhookSender } from './webhooks/webhook-sender.ts';
import { WebhookPublisher } from './webhooks/webhook-publisher.ts';

/*
 * The Dataverse sandbox (`cosell sandbox dataverse`): the Web API v9.2 under /api/data/v9.2/, a token endpoint at
 * POST /:tenant/oauth2/v2.0/token (client credentials: the app registration's application user; password: a seller
 * signed in by UPN), and the control API (no auth):
 *   GET|DELETE /_sandbox/requests            request counts per endpoint (shared plumbing)
 *   POST|GET|DELETE /_sandbox/faults         latency, 5xx, 429 + Retry-After, delivery faults (shared plumbing)
 *   POST /_sandbox/seed                      { accounts, contacts, opportunities, leads: count | rows[], events? }
 *   DELETE /_sandbox/data[?metadata=true]    remove every non-catalogue row (and runtime columns/keys)
 *   GET|POST /_sandbox/records/:entitySet    list everything / create as a seller (x-sandbox-user-id picks the user)
 *   PATCH|DELETE /_sandbox/records/:entitySet/:id   change as a seller; closing an opportunity goes through Win/Lose
 *   GET /_sandbox/users                      the org's users (application users, one per client id, vs sellers)
 *   GET|DELETE /_sandbox/webhooks/deliveries webhook delivery log; GET /_sandbox/webhooks/steps registered steps
 */
export { SANDBOX_CLIENT_ID, SANDBOX_ORGANIZATION, SANDBOX_USERS } from './auth/users.ts';

export interface DataverseSandboxOptions extends SandboxListenOptions {
  /**
   * When true only tokens issued by the sandbox token endpoint are accepted. Default false: any other non-empty bearer
   * token stands for the product's own app registration (SANDBOX_CLIENT_ID).
   */
  strictTokens?: boolean;
  /** More app registrations with an application user in the org, besides the product's and `otherIntegration`. */
  applicationUsers?: ReadonlyArray<{ clientId: string; fullname: string }>;
  /** More licensed users who can sign in (`grant_type=password`, username = upn) besides the built-in sellers. */
  sellers?: ReadonlyArray<{ upn: string; fullname: string }>;
  /** Per-attempt webhook timeout ("Use webhooks to create external handlers for server events" documents 60 s). */
  webhookTimeoutMs?: number;
  /** Delay before the single retry of a delivery answered 502/503/504. Default 1000 ms (the real delay is undocumented). */
  webhookRetryDelayMs?: number;
}

export interface DataverseSandbox {
  url: string; // e.g. http://127.0.0.1:4102 (actual port); the Web API is under `${url}/api/data/v9.2/`
  close(): Promise<void>;
}

export const DEFAULT_PORT = 4102;
const DEFAULT_WEBHOOK_TIMEOUT_MS = 60_000;
const DEFAULT_WEBHOOK_RETRY_DELAY_MS = 1_000;

export async function startDataverseSandbox(options: DataverseSandboxOptions = {}): Promise<DataverseSandbox> {
  const logger = options.logger ?? silentLogger();
  const host = options.host ?? '127.0.0.1';
  const services = createDataServices();
  const users = [
    ...ALL_SANDBOX_USERS,
    ...(options.applicationUsers ?? []).map((app) => applicationUser(app.clientId, app.fullname)),
    ...(options.sellers ?? []).map((seller) => sellerUser(seller.upn, seller.fullname)),
  ];
  seedCatalog(services.registry, services.store, users);

  let url = '';
  let sampleSequence = 0;
  const faults = new FaultInjector();
  const dispatcher = new DataDispatcher(services, (error) => logger.error({ err: error }, 'Dataverse sandbox handler failed'));
  const sender = new DataverseWebhookSender({
    timeoutMs: options.webhookTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS,
    retryDelayMs: options.webhookRetryDelayMs ?? DEFAULT_WEBHOOK_RETRY_DELAY_MS,
    logger: logger.child({ part: 'dataverse-webhooks' }),
    faults,
    onFailed: (delivery, webhook) => recordFailedJob(services, delivery, webhook),
  });
  const publisher = new WebhookPublisher(services.registry, services.store, sender, () => new URL(url).host);

  const ctx: DataverseContext = {
    logger,
    services,
    dispatcher,
    batch: new BatchExecutor(dispatcher, services.store),
    publisher,
    sender,
    users,
    tokens: new TokenRegistry(),
    strictTokens: options.strictTokens ?? false,
    faults,
    requests: new RequestCounter(),
    baseUrl: () => url,
    nextSampleSequence: () => sampleSequence++,
    resetData: ({ metadata }) => {
      const tables = services.registry.all().map((entity) => entity.logicalName).filter((name) => !(CATALOG_TABLES as readonly string[]).includes(name));
      const deleted = tables.reduce((sum, table) => sum + services.store.count(table), 0);
      if (metadata) {
        services.registry.reset();
        services.store.clear();
        seedCatalog(services.registry, services.store, users);
      } else {
        services.store.clearTables(tables);
      }
      return deleted;
    },
  };

  const app = buildDataverseApp(ctx);
  const server = await listenSandbox(app, { port: options.port ?? DEFAULT_PORT, host, logger, name: 'Dataverse', stop: () => sender.close() });
  url = server.url;
  return server;
}
