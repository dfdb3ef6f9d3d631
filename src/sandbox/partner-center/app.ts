import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { sandboxApp } from '../shared/fastify-app.ts';
import { installFaults } from '../shared/faults.ts';
import { installRequestCounter } from '../shared/request-counter.ts';
import type { PartnerCenterContext } from './context.ts';
import { codeForStatus, errorBody, errorBodyForStatus, PartnerCenterError } from './errors.ts';
import { sendError, sendJson } from './http-helpers.ts';
import { registerControlRoutes } from './routes/control-routes.ts';
import { registerMicrosoftSellerRoutes } from './routes/microsoft-seller-routes.ts';
import { registerReferralRoutes } from './routes/referrals-routes.ts';
import { registerTokenRoutes } from './routes/token-routes.ts';
import { registerWebhookRoutes } from './routes/webhook-routes.ts';

/** Partner Center's response headers: a fresh `request-id`, and the caller's `client-request-id` echoed back. */
function installRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('request-id', randomUUID());
    const clientRequestId = request.headers['client-request-id'];
    if (typeof clientRequestId === 'string' && clientRequestId !== '') reply.header('client-request-id', clientRequestId);
    const correlationId = request.headers['ms-correlationid'];
    if (typeof correlationId === 'string' && correlationId !== '') reply.header('ms-correlationid', correlationId);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ method: request.method, url: request.url, statusCode: reply.statusCode }, 'sandbox request');
  });
}

/** A missing route in the documented error shape too. */
function installNotFound(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendJson(reply, 404, errorBody('itemNotFound', `No resource matches ${request.method} ${request.url.split('?')[0]}.`)),
  );
}

export function buildPartnerCenterApp(ctx: PartnerCenterContext): FastifyInstance {
  const app = sandboxApp({
    logger: ctx.logger as FastifyBaseLogger,
    // Fastify's own framework errors (malformed URL encoding …) must look like the vendor's errors too.
    frameworkError: (error, reply) => void sendJson(reply, 400, errorBody('invalidRequest', error.message)),
    // ASP.NET routing ignores case and a trailing slash; clients written against the real service rely on both.
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
    json: {
      types: ['application/json', 'application/json-patch+json', 'text/json'],
      replace: ['application/json'],
      invalid: (message) => new PartnerCenterError(400, 'invalidRequest', `The request body is not valid JSON: ${message}`),
    },
    name: 'Partner Center',
    errors: {
      vendorError: PartnerCenterError,
      sendVendorError: sendError,
      send: (reply, { statusCode, message }) => sendJson(reply, statusCode, errorBody(codeForStatus(statusCode), message)),
      unexpected: 'An unexpected error occurred in the sandbox.',
    },
  });
  installNotFound(app);
  installRequestIds(app);
  installRequestCounter(app, ctx.requests);
  installFaults(app, ctx.faults, { errorBody: errorBodyForStatus });
  registerReferralRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerControlRoutes(app, ctx);
  registerMicrosoftSellerRoutes(app, ctx);
  return app;
}
