import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { sandboxApp } from '../shared/fastify-app.ts';
import { installFaults } from '../shared/faults.ts';
import { installRequestCounter } from '../shared/request-counter.ts';
import type { DataverseContext } from './context.ts';
import { badRequest, DataverseError, ErrorCode, errorBodyForStatus } from './errors.ts';
import { registerControlRoutes } from './routes/control-routes.ts';
import { registerLookupColumnRoute } from './routes/lookup-column-route.ts';
import { sendError } from './routes/http-helpers.ts';
import { registerTokenRoutes } from './routes/token-routes.ts';
import { registerWebApiRoutes } from './routes/web-api-routes.ts';

/**
 * $batch bodies may carry up to 1000 requests ("Execute batch operations using the Web API"); the default 1 MiB would
 * reject legitimate batches.
 */
const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/** Every failure in the documented shape ("Compose HTTP requests and handle errors"), a missing route included. */
function installNotFound(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new DataverseError(404, ErrorCode.ResourceNotFoundForSegment, `No resource matches ${request.method} ${request.url.split('?')[0] ?? ''}.`)),
  );
}

/**
 * Every Web API response carries `OData-Version: 4.0` ("Compose HTTP requests and handle errors"), including errors
 * raised before a handler runs.
 */
function installODataHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/api/data')) reply.header('OData-Version', '4.0');
  });
}

export function buildDataverseApp(ctx: DataverseContext): FastifyInstance {
  const app = sandboxApp({
    logger: ctx.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    frameworkError: (error, reply) => void sendError(reply, new DataverseError(400, ErrorCode.ODataError, error.message)),
    json: {
      types: ['application/json', 'text/json'],
      replace: ['application/json'],
      invalid: (message) => badRequest(`Error parsing the request body: ${message}`, ErrorCode.ODataError),
    },
    name: 'Dataverse',
    errors: {
      vendorError: DataverseError,
      sendVendorError: sendError,
      send: (reply, { statusCode, message }) => {
        const body = errorBodyForStatus(statusCode, message);
        return sendError(reply, new DataverseError(statusCode, body.error.code, body.error.message));
      },
      unexpected: 'An unexpected error occurred.',
    },
  });
  app.addContentTypeParser('multipart/mixed', { parseAs: 'string' }, (_request, body, done) => done(null, String(body)));
  installNotFound(app);
  installODataHeaders(app);
  installRequestCounter(app, ctx.requests);
  installFaults(app, ctx.faults, { errorBody: errorBodyForStatus });
  registerWebApiRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerControlRoutes(app, ctx);
  registerLookupColumnRoute(app, ctx);
  return app;
}
