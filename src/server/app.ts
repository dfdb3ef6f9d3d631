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
import { DASHBOARD_PAGE, dashboardRoute } from './routes/dashboard.ts';
import { crmWebhookRoute, type CrmNotificationReceiver } from './routes/crm-webhook.ts';
import { engineAdminRoutes } from './routes/engine-admin.ts';
import { LOGIN_PAGE } from './routes/login-page.ts';
import type { Engine } from '../sync/engine.ts';
import type { Readiness } from './readiness.ts';

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

  // Anyone can call it, so it says up or down and nothing about the data.
  app.get('/healthz', async (_request, reply) => {
    try {
      deps.store.inbox.count();
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable' });
    }
  });
  return app;
}

const PAGES = [DASHBOARD_PAGE, LOGIN_PAGE].map(inlineHashes);

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
        // Exactly the admin pages' own inline blocks, by hash; no other script or style runs.
        scriptSrc: PAGES.flatMap((p) => p.scripts),
        styleSrc: PAGES.flatMap((p) => p.styles),
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
  dashboardRoute(app);

  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
  app.get('/readyz', async (_request, reply) => {
    const report = await deps.readiness.check();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  return app;
}
