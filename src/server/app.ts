import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Store } from '../store/types.ts';
import type { Logger } from '../util/logger.ts';
import type { WebhookSignatureVerifier } from '../partner-center/signature.ts';
import type { Metrics } from './metrics.ts';
import { partnerCenterWebhookRoute } from './routes/partner-center-webhook.ts';
import { adminRoutes } from './routes/admin.ts';
import { dashboardRoute } from './routes/dashboard.ts';
import { dynamicsWebhookRoute, type DynamicsWebhookDeps } from './routes/dynamics-webhook.ts';
import { engineAdminRoutes } from './routes/engine-admin.ts';
import { salesforceWebhookRoute, type SalesforceWebhookDeps } from './routes/salesforce-webhook.ts';
import type { Engine } from '../sync/engine.ts';

export interface AppDeps {
  store: Store;
  logger: Logger;
  metrics: Metrics;
  verifier: WebhookSignatureVerifier;
  bodyLimitBytes: number;
  engine?: Engine | undefined;
  dynamicsWebhook?: DynamicsWebhookDeps['connection'];
  salesforceWebhook?: SalesforceWebhookDeps['connection'];
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // No per-request access logs: at 2,000 webhooks/s they would drown the useful lines. Rejections, failures and
    // accepted events are logged explicitly with the service logger.
    logger: false,
    bodyLimit: deps.bodyLimitBytes,
    trustProxy: true,
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` } }),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) deps.logger.error({ err: error, url: request.url }, 'request failed');
    return reply.code(status).send({
      error: { code: status === 500 ? 'internal_error' : 'bad_request', message: status === 500 ? 'internal error' : error.message },
    });
  });

  partnerCenterWebhookRoute(app, {
    verifier: deps.verifier,
    inbox: deps.store.inbox,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimitBytes: deps.bodyLimitBytes,
    connections: deps.engine ? [...deps.engine.connections.keys()] : [],
  });
  dynamicsWebhookRoute(app, {
    inbox: deps.store.inbox,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimitBytes: deps.bodyLimitBytes,
    connection: deps.dynamicsWebhook,
  });
  salesforceWebhookRoute(app, {
    inbox: deps.store.inbox,
    metrics: deps.metrics,
    logger: deps.logger,
    bodyLimitBytes: deps.bodyLimitBytes,
    connection: deps.salesforceWebhook,
  });
  adminRoutes(app, deps.store);
  engineAdminRoutes(app, deps.store, deps.engine);
  dashboardRoute(app);

  app.get('/healthz', async (_request, reply) => {
    try {
      const inbox = deps.store.inbox.count();
      return { status: 'ok', inbox };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'store not readable' });
    }
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
  return app;
}
