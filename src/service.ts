import type { FastifyInstance } from 'fastify';
import { ConfigError } from './config/errors.ts';
import type { Config } from './config/schema.ts';
import { resolveSecret, SecretResolutionError } from './config/secrets.ts';
import type { CrmConnector } from './crm/connector.ts';
import { configuredCrms } from './crm/vendors.ts';
import { CertificateSource } from './partner-center/certificate-source.ts';
import { partnerCenterClients, tokenEncryptionKey } from './partner-center/from-config.ts';
import type { ReferralsClient } from './partner-center/referrals-client.ts';
import { WebhookSignatureVerifier } from './partner-center/signature.ts';
import { Metrics } from './server/metrics.ts';
import { buildAdminApp, buildPublicApp } from './server/app.ts';
import { Alerter } from './server/alerts/alerter.ts';
import { credentialHealth } from './server/console/credential-health.ts';
import { PARTNER_CENTER_REFRESH_TOKEN } from './http/refresh-token-vault.ts';
import { EmailChannel } from './server/alerts/email.ts';
import { recordLinksFromConfig } from './server/console/record-links.ts';
import { RegistrationWatch } from './server/console/registration-watch.ts';
import { runWhileLeader, type LeaderTask } from './server/leader-tasks.ts';
import { Readiness } from './server/readiness.ts';
import type { Leadership } from './store/leadership.ts';
import { describeStoreLocation, openStore, type ServiceStore, type StoreLocation } from './store/open.ts';
import { startRetentionSchedule } from './store/sqlite/retention.ts';
import { ConnectionAvailability } from './sync/connection-availability.ts';
import { createEngine, loadConnections, type Engine } from './sync/engine.ts';
import type { Logger } from './util/logger.ts';

export interface RunningService {
  /** The public listener: webhooks and /healthz. */
  url: string;
  /** The admin listener: API, dashboard, /metrics, /readyz. */
  adminUrl: string;
  app: FastifyInstance;
  adminApp: FastifyInstance;
  store: ServiceStore;
  /** Whether this instance leads the cluster (always, with SQLite). */
  leadership: Leadership;
  storeLocation: StoreLocation;
  metrics: Metrics;
  engine: Engine | undefined;
  close(): Promise<void>;
  /** What `close` is waiting for right now (for a log line when a stop hangs). */
  closingStep(): string;
}

export interface ServiceOptions {
  /** Run the worker and the periodic reconciler (default true). Tests turn it off to drive the engine themselves. */
  runEngine?: boolean;
  /** Where the configuration came from, for error messages (default "configuration"). */
  configSource?: string;
}

/** Shorter tokens can be guessed by a patient attacker; `openssl rand -hex 32` gives 64 characters. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/** The admin token, or undefined when authentication is off; problems are configuration errors naming admin.token. */
export async function resolveAdminToken(config: Config, source = 'configuration', env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (config.admin.auth === 'none') return undefined;
  let token: string;
  try {
    token = await resolveSecret(config.admin.token, { env });
  } catch (error) {
    if (error instanceof SecretResolutionError) throw new ConfigError(source, 'admin.token', `${error.message} (the admin listener's bearer token)`);
    throw error;
  }
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ConfigError(source, 'admin.token', `the admin token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 32)`);
  }
  return token;
}

function listenerUrl(app: FastifyInstance, host: string, fallbackPort: number): string {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : fallbackPort;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

/** The connector's echo recognition, bound to it (a connection without one syncs every notification). */
const ownWriteCheckOf = (connector: CrmConnector | undefined) => connector?.isOwnWrite?.bind(connector);

/** The alert webhooks' URLs; a reference that does not resolve is a configuration error naming the entry. */
export async function resolveAlertWebhooks(config: Config, source = 'configuration'): Promise<string[]> {
  return Promise.all(
    config.alerts.webhooks.map(async (webhook, index) => {
      try {
        return await resolveSecret(webhook.url);
      } catch (error) {
        if (error instanceof SecretResolutionError) throw new ConfigError(source, `alerts.webhooks[${index}].url`, error.message);
        throw error;
      }
    }),
  );
}

/** The alert e-mail's SMTP password, when one is configured; a reference that does not resolve is a configuration error. */
export async function resolveAlertEmailPassword(config: Config, source = 'configuration'): Promise<string | undefined> {
  const reference = config.alerts.email?.password;
  if (!reference) return undefined;
  try {
    return await resolveSecret(reference);
  } catch (error) {
    if (error instanceof SecretResolutionError) throw new ConfigError(source, 'alerts.email.password', error.message);
    throw error;
  }
}

/** Everything `cosell start` runs, as a value tests and `npm start` can hold and stop. */
export async function startService(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<RunningService> {
  const adminToken = await resolveAdminToken(config, options.configSource);
  const alertWebhooks = await resolveAlertWebhooks(config, options.configSource);
  const alertEmailPassword = await resolveAlertEmailPassword(config, options.configSource);
  // Checked at start even without a CRM connection (when no token is exchanged yet): a bad key is a config error (exit 2).
  if (config.partnerCenter.auth.mode === 'entra') await tokenEncryptionKey(config.partnerCenter.auth);
  let opened;
  try {
    opened = await openStore(config, logger);
  } catch (error) {
    // postgresPoolOptions names the setting but not the file; the message never carries the URL.
    if (error instanceof ConfigError && error.file === '') throw new ConfigError(options.configSource ?? 'configuration', error.path, error.reason);
    throw error;
  }
  const { store, leadership, location } = opened;
  let leaderTasks: { stop(): Promise<void> } | undefined;
  let engine: Engine | undefined;
  let registration: RegistrationWatch | undefined;
  let referralsClient: ReferralsClient | undefined;
  const listening: FastifyInstance[] = [];
  try {
    const crms = configuredCrms(config);
    // Before any connection is made: a missing or malformed endpoint secret is a configuration error (exit code 2).
    const decoders = await Promise.all(crms.map(async (crm) => ({ crm, decoder: await crm.notificationDecoder() })));
    const metrics = new Metrics();
    const pcAuth = config.partnerCenter.auth;
    const credentialWarningDays = pcAuth.mode === 'entra' ? pcAuth.refreshTokenWarningDays : undefined;
    const readiness = new Readiness(store, location, {
      'partner-center': 'referrals',
      ...Object.fromEntries(crms.map((crm) => [crm.name, crm.api])),
    });
    readiness.watchLeadership(() => leadership.isLeader);
    const recordApiCall: typeof metrics.recordApiCall = (call) => {
      metrics.recordApiCall(call);
      readiness.recordCall(call);
    };
    const verifier = new WebhookSignatureVerifier(
      config.partnerCenter.webhooks,
      new CertificateSource(config.partnerCenter.webhooks),
    );
    const availability = new ConnectionAvailability({ logger: logger.child({ component: 'availability' }), reporter: readiness });
    const connections = await loadConnections(config, logger, recordApiCall, availability);
    if (connections.size > 0) {
      const { referrals, webhooks } = await partnerCenterClients(config.partnerCenter, { logger, onCall: recordApiCall, credentials: store.credentials });
      referralsClient = referrals;
      registration = new RegistrationWatch(webhooks, config.server.publicUrl, config.server.port, logger.child({ component: 'registration' }));
      engine = createEngine({ config, store, referrals, connections, logger, onJobOutcome: metrics.recordJob, availability, leadership });
      metrics.watchQueueDepth(() => store.jobs.depth());
    }
    metrics.watchHealth({ counts: () => store.console.connectionCounts(), connections: () => readiness.connections() });
    const app = await buildPublicApp({
      store,
      logger,
      metrics,
      verifier,
      bodyLimitBytes: config.server.bodyLimitBytes,
      trustProxy: config.server.trustProxy,
      engine,
      crmNotifications: Object.fromEntries(
        decoders.flatMap(({ crm, decoder }) => (decoder ? [[crm.kind, { decoder, isOwnWrite: ownWriteCheckOf(connections.get(crm.name)?.connector) }]] : [])),
      ),
      readiness,
    });
    const adminApp = await buildAdminApp({
      store,
      logger,
      metrics,
      engine,
      readiness,
      token: adminToken,
      // The name it is bound to is one it is reached by, too.
      allowedHosts: [...config.admin.allowedHosts, config.admin.host],
      sessionTtlMs: config.admin.sessionHours * 3600_000,
      trustProxy: config.admin.trustProxy,
      recordLinks: recordLinksFromConfig(config),
      registration,
      credentialWarningDays,
      referrals: referralsClient,
    });
    listening.push(app, adminApp);
    await app.listen({ host: config.server.host, port: config.server.port });
    await adminApp.listen({ host: config.admin.host, port: config.admin.port });
    const url = listenerUrl(app, config.server.host, config.server.port);
    const adminUrl = listenerUrl(adminApp, config.admin.host, config.admin.port);
    if (engine && options.runEngine !== false) engine.start();
    const alertLogger = logger.child({ component: 'alerts' });
    const email = config.alerts.email ? new EmailChannel(config.alerts.email, alertEmailPassword, alertLogger) : undefined;
    const alerter = alertWebhooks.length === 0 && !email ? undefined : new Alerter({
      store,
      readiness,
      webhookUrls: alertWebhooks,
      channels: email ? [email] : [],
      responseWarningMs: config.alerts.responseDeadlineHours * 3600_000,
      connectionFailingMs: config.alerts.connectionFailingMinutes * 60_000,
      registration: registration ? () => registration?.state : undefined,
      credential:
        credentialWarningDays === undefined ? undefined : async () =>
              credentialHealth(
                await store.credentials.get(PARTNER_CENTER_REFRESH_TOKEN),
                credentialWarningDays,
                readiness.connections()['partner-center']?.lastFailure,
              ),
      logger: alertLogger,
      consoleUrl: adminUrl,
    });
    // Once per cluster: two instances compacting at once would only waste work, but two alerting would page twice.
    const singletons: LeaderTask[] = [
      { name: 'retention', start: () => startRetentionSchedule(store.compactor, config.store.retention, logger.child({ component: 'retention' })) },
    ];
    if (alerter) singletons.push({ name: 'alerts', start: () => alerter.start(config.alerts.intervalSeconds * 1000) });
    const watch = registration;
    if (watch) {
      singletons.push({
        name: 'registration check',
        start: () => {
          watch.start(config.alerts.registrationCheckMinutes * 60_000);
          return { stop: () => watch.stop() };
        },
      });
    }
    leaderTasks = runWhileLeader(leadership, singletons, logger.child({ component: 'leadership' }));
    await leadership.start();
    logger.info(
      {
        url,
        adminUrl,
        adminAuth: config.admin.auth,
        storeDriver: location.driver,
        store: describeStoreLocation(location),
        leader: leadership.isLeader,
        connections: engine ? [...engine.connections.keys()] : [],
      },
      'cosell-sync service listening',
    );
    let closed = false;
    let step = 'running';
    const running: RunningService = {
      url,
      adminUrl,
      app,
      adminApp,
      store,
      leadership,
      storeLocation: location,
      metrics,
      engine,
      async close() {
        if (closed) return;
        closed = true;
        step = 'closing the public listener (requests in flight)';
        await app.close();
        step = 'closing the admin listener';
        await adminApp.close();
        step = 'stopping the engine (jobs in flight, CRM streams)';
        await engine?.stop();
        step = 'stopping retention, alerts and the registration check';
        await leaderTasks?.stop();
        email?.close();
        step = 'stepping down from cluster leadership';
        await leadership.stop();
        step = 'closing the store';
        await store.close();
        step = 'stopped';
      },
      closingStep: () => step,
    };
    return running;
  } catch (error) {
    // E.g. the admin port is taken after the public listener started: nothing may stay bound.
    for (const server of listening) await server.close().catch(() => undefined);
    await leaderTasks?.stop();
    await engine?.stop();
    await leadership.stop().catch(() => undefined);
    await store.close();
    throw error;
  }
}
