import fastifyHelmet from '@fastify/helmet';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { TrustProxy } from '../config/schema.ts';
import type { CrmKind } from '../crm/connector.ts';
import { NOTIFICATION_ROUTES } from '../crm/vendors.ts';
import type { Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import type { WebhookSignatureVerifier } from '../partner-center/signature.ts';
import { adminGuard } from './admin-auth.ts';
import { inlineHashes } from './content-security-policy.ts';
import type { Metrics } from './metrics.ts';
import { partnerCenterWebhookRoute } from './routes/partner-center-webhook.ts';
import { adminRoutes } from './routes/admin.ts';
import { consoleRoutes, type RecordLinks } from './routes/console.ts';
import type { ReferralsPort } from '../sync/ports.ts';
import { crmWebhookRoute, type CrmNotificationReceiver } from './routes/crm-webhook.ts';
import { engineAdminRoutes } from './routes/engine-admin.ts';
import { LOGIN_PAGE } from './routes/login-page.ts';
import type { Engine } from '../sync/engine.ts';
import { storeResponds, type Readiness } from './readiness.ts';
import type { RegistrationWatch } from './console/registration-watch.ts';

export interface PublicAppDeps {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  verifier: WebhookSignatureVerifier;
  bodyLimitBytes: number;
  trustProxy: TrustProxy;
  engine?: Engine | undefined;
  /** Per CRM, the configured connection that takes its notifications; a CRM without one answers 404. */
  crmNotifications?: Partial<Record<CrmKind, CrmNotificationReceiver>>;
  /** Connection health: /healthz says `degraded` while a connection's calls all fail. */
  readiness?: Readiness | undefined;
}

export interface AdminAppDeps {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  engine?: Engine | undefined;
  readiness: Readiness;
  /** undefined: authentication off (loopback only). */
  token: string | undefined;
  allowedHosts: readonly string[];
  sessionTtlMs: number;
  trustProxy: TrustProxy;
  /** Where a referral and a CRM record open in their own web UIs (console links). */
  recordLinks?: RecordLinks | undefined;
  /** Partner Center's webhook registration, checked periodically (absent without a CRM connection). */
  registration?: RegistrationWatch | undefined;
  /** partnerCenter.auth.refreshTokenWarningDays with Entra sign-in; undefined with sandbox tokens (no card line). */
  credentialWarningDays?: number | undefined;
  /** Partner Center's referrals, for the console's mapping preview. */
  referrals?: Pick<ReferralsPort, 'get' | 'listPage'> | undefined;
}

/** Admin requests are small JSON bodies; nothing larger has a reason to be read. */
const ADMIN_BODY_LIMIT_BYTES = 64 * 1024;

function baseApp(logger: Logger, bodyLimit: number, trustProxy: TrustProxy): FastifyInstance {
  const app = Fastify({
    // No per-request access logs: at 2,000 webhooks/s they would drown the useful lines. Rejections, failures and
    // accepted events are logged explicitly with the service logger.
    logger: false,
    bodyLimit,
    // Off unless configured: with it on, any client could choose the address the logs show via X-Forwarded-For.
    // A hop count trusts that many proxies from the socket inwards (what Fastify does with a number).
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` } }),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) logger.error({ err: error, url: request.url.split('?')[0] }, 'request failed');
    return reply.code(status).send({
      error: { code: status === 500 ? 'internal_error' : 'bad_request', message: status === 500 ? 'internal error' : error.message },
    });
  });
  return app;
}

/** The listener that faces the internet: the three notification routes and a health probe, nothing else. */
export async function buildPublicApp(deps: PublicAppDeps): Promise<FastifyInstance> {
  const app = baseApp(deps.logger, deps.bodyLimitBytes, deps.trustProxy);
  // Machines call it and read JSON: no page may be framed or run script from here.
  await app.register(fastifyHelmet, { contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } });

  partnerCenterWebhookRoute(app, {
    verifier: deps.verifier,
    inbox: deps.store.inbox,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimitBytes: deps.bodyLimitBytes,
    connections: deps.engine ? [...deps.engine.connections.keys()] : [],
  });
  for (const route of NOTIFICATION_ROUTES) {
    crmWebhookRoute(app, route, {
      inbox: deps.store.inbox,
      metrics: deps.metrics,
      logger: deps.logger,
      bodyLimitBytes: deps.bodyLimitBytes,
      receiver: deps.crmNotifications?.[route.source],
    });
  }

  // Anyone can call it, so it says up, degraded or down and nothing about the data. Degraded (a connection whose calls
  // all fail) still answers 200: the process is alive and takes webhooks, and restarting it would not mend a remote
  // outage. The admin listener's /readyz answers 503 then, with the details.
  app.get('/healthz', async (_request, reply) => {
    // Unreachable PostgreSQL (or an unreadable SQLite file) makes the instance unhealthy: a balancer takes it out.
    if (!(await storeResponds(deps.store))) return reply.code(503).send({ status: 'unavailable' });
    const failing = deps.readiness && Object.values(deps.readiness.connections()).some((c) => c.state === 'failing');
    return { status: failing ? 'degraded' : 'ok' };
  });
  return app;
}

const PAGES = [LOGIN_PAGE].map(inlineHashes);

/** The operator's listener: admin API, dashboard, /metrics and /readyz, behind the admin guard. */
export async function buildAdminApp(deps: AdminAppDeps): Promise<FastifyInstance> {
  const app = baseApp(deps.logger, ADMIN_BODY_LIMIT_BYTES, deps.trustProxy);
  // Only JSON bodies are parsed: text/plain is what a cross-site form or fetch can send without a preflight.
  app.removeContentTypeParser('text/plain');
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        // The console's own script and style files, and the login page's inline blocks by hash; nothing else runs.
        scriptSrc: ["'self'", ...PAGES.flatMap((p) => p.scripts)],
        styleSrc: ["'self'", ...PAGES.flatMap((p) => p.styles)],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    // The admin listener may be plain http on loopback; HSTS belongs to whatever terminates TLS in front of it.
    strictTransportSecurity: false,
  });
  await adminGuard(app, { token: deps.token, allowedHosts: deps.allowedHosts, sessionTtlMs: deps.sessionTtlMs, logger: deps.logger });

  adminRoutes(app, deps.store);
  engineAdminRoutes(app, deps.store, deps.engine);
  consoleRoutes(app, { store: deps.store, engine: deps.engine, readiness: deps.readiness, recordLinks: deps.recordLinks, registration: deps.registration, credentialWarningDays: deps.credentialWarningDays, referrals: deps.referrals });

  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
  app.get('/readyz', async (_request, reply) => {
    const report = await deps.readiness.check();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  return app;
}
