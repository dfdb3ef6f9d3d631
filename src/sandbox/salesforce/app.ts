import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { installFaults } from '../shared/faults.ts';
import { installRequestCounter } from '../shared/request-counter.ts';
import type { SalesforceContext } from './context.ts';
import { badRequest, ErrorCode, errorBodyForStatus, SalesforceError } from './errors.ts';
import { registerCometdRoutes } from './routes/cometd-routes.ts';
import { registerControlRoutes } from './routes/control-routes.ts';
import { sendError } from './routes/http-helpers.ts';
import { registerOAuthRoutes } from './routes/oauth-routes.ts';
import { registerRestRoutes } from './routes/rest-routes.ts';

/** 200 records of 32 000-character descriptions must fit in one collection call. */
const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

function parseJson(body: string): unknown {
  // DELETE and bodiless POSTs often still carry Content-Type: application/json.
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw badRequest(ErrorCode.JsonParserError, `Unexpected character in JSON input: ${(error as Error).message}`);
  }
}

/** JSON and forms only: a text/plain or XML body is a 415, not a silently empty record (XML is not modelled). */
function installBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJson(String(body)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
}

/**
 * Every failure — ours, fastify's (unsupported media type, body too large) or unexpected — in the REST API "Status
 * Codes and Error Responses" array shape.
 */
function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | SalesforceError | Error, request, reply) => {
    if (error instanceof SalesforceError) return sendError(reply, error);
    const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error }, 'Salesforce sandbox route failed');
    if (statusCode === 415) return sendError(reply, new SalesforceError(415, ErrorCode.UnsupportedMediaType, `Content type '${request.headers['content-type'] ?? ''}' not supported`));
    const [entry] = errorBodyForStatus(statusCode, statusCode >= 500 ? 'An unexpected error occurred. Please include this ErrorId if you contact support.' : error.message);
    return sendError(reply, new SalesforceError(statusCode, entry?.errorCode ?? ErrorCode.UnknownException, entry?.message ?? error.message));
  });
}

export function buildSalesforceApp(ctx: SalesforceContext): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: (error, _request, reply) => {
      void sendError(reply, badRequest(ErrorCode.InvalidInput, error.message));
    },
    forceCloseConnections: true,
  });
  installBodyParsers(app);
  installErrorHandling(app);
  installRequestCounter(app, ctx.requests);
  installFaults(app, ctx.faults, { errorBody: errorBodyForStatus });
  registerOAuthRoutes(app, ctx);
  registerRestRoutes(app, ctx);
  registerCometdRoutes(app, ctx);
  registerControlRoutes(app, ctx);
  return app;
}
