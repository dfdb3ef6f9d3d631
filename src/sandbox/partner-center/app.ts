import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
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

const JSON_TYPES = ['application/json', 'application/json-patch+json', 'text/json'];

function parseJsonBody(body: string): unknown {
  // Clients send `Content-Type: application/json` with an empty body on bodiless POSTs (validationEvents); that is not
  // a parse error.
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new PartnerCenterError(400, 'invalidRequest', `The request body is not valid JSON: ${(error as Error).message}`);
  }
}

function installBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
}

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

/** Every error — ours, fastify's (bad JSON, wrong content type, body too large) or unexpected — in the documented shape. */
function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | PartnerCenterError | Error, request, reply) => {
    if (error instanceof PartnerCenterError) return sendError(reply, error);
    const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error }, 'sandbox route failed');
    const message = statusCode >= 500 ? 'An unexpected error occurred in the sandbox.' : error.message;
    return sendJson(reply, statusCode, errorBody(codeForStatus(statusCode), message));
  });
  app.setNotFoundHandler((request, reply) =>
    sendJson(reply, 404, errorBody('itemNotFound', `No resource matches ${request.method} ${request.url.split('?')[0]}.`)),
  );
}

export function buildPartnerCenterApp(ctx: PartnerCenterContext): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's own framework errors (malformed URL encoding …) must look like the vendor's errors too.
    frameworkErrors: (error, _request, reply) => {
      void sendJson(reply, 400, errorBody('invalidRequest', error.message));
    },
    forceCloseConnections: true,
    // ASP.NET routing ignores case and a trailing slash; clients written against the real service rely on both.
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
  });
  installBodyParsers(app);
  installErrorHandling(app);
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
