import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { installFaults } from '../shared/faults.ts';
import { installRequestCounter } from '../shared/request-counter.ts';
import type { DataverseContext } from './context.ts';
import { badRequest, DataverseError, ErrorCode, errorBodyForStatus } from './errors.ts';
import { registerControlRoutes } from './routes/control-routes.ts';
import { sendError } from './routes/http-helpers.ts';
import { registerTokenRoutes } from './routes/token-routes.ts';
import { registerWebApiRoutes } from './routes/web-api-routes.ts';

/**
 * $batch bodies may carry up to 1000 requests ("Execute batch operations using the Web API"); the default 1 MiB would
 * reject legitimate batches.
 */
const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

function parseJson(body: string): unknown {
  // Bodiless POSTs (PublishAllXml) often still carry Content-Type: application/json.
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw badRequest(`Error parsing the request body: ${(error as Error).message}`, ErrorCode.ODataError);
  }
}

function installBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJson(String(body)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('multipart/mixed', { parseAs: 'string' }, (_request, body, done) => done(null, String(body)));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
}

/**
 * Every failure — ours, fastify's (unsupported media type, body too large) or unexpected — in the documented shape
 * ("Compose HTTP requests and handle errors").
 */
function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | DataverseError | Error, request, reply) => {
    if (error instanceof DataverseError) return sendError(reply, error);
    const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error }, 'Dataverse sandbox route failed');
    const message = statusCode >= 500 ? 'An unexpected error occurred.' : error.message;
    const body = errorBodyForStatus(statusCode, message);
    return sendError(reply, new DataverseError(statusCode, body.error.code, body.error.message));
  });
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
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    frameworkErrors: (error, _request, reply) => {
      void sendError(reply, new DataverseError(400, ErrorCode.ODataError, error.message));
    },
    forceCloseConnections: true,
  });
  installBodyParsers(app);
  installErrorHandling(app);
  installODataHeaders(app);
  installRequestCounter(app, ctx.requests);
  installFaults(app, ctx.faults, { errorBody: errorBodyForStatus });
  registerWebApiRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerControlRoutes(app, ctx);
  return app;
}
