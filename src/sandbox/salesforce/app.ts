import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { sandboxApp } from '../shared/fastify-app.ts';
import { installFaults } from '../shared/faults.ts';
import { installRequestCounter } from '../shared/request-counter.ts';
import type { SalesforceContext } from './context.ts';
import { badRequest, ErrorCode, errorBodyForStatus, SalesforceError } from './errors.ts';
import { registerCometdRoutes } from './routes/cometd-routes.ts';
import { registerControlRoutes } from './routes/control-routes.ts';
import { sendError } from './routes/http-helpers.ts';
import { registerOAuthRoutes } from './routes/oauth-routes.ts';
import { registerRestRoutes } from './routes/rest-routes.ts';
import { registerSoapRoutes } from './routes/soap-routes.ts';

/** 200 records of 32 000-character descriptions must fit in one collection call. */
const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export function buildSalesforceApp(ctx: SalesforceContext): FastifyInstance {
  const app = sandboxApp({
    logger: ctx.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: true },
    frameworkError: (error, reply) => void sendError(reply, badRequest(ErrorCode.InvalidInput, error.message)),
    // JSON and forms only: a text/plain or XML body is a 415, not a silently empty record (XML only on the SOAP endpoint).
    json: {
      types: ['application/json', 'text/json'],
      replace: ['application/json', 'text/plain'],
      invalid: (message) => badRequest(ErrorCode.JsonParserError, `Unexpected character in JSON input: ${message}`),
    },
    // In the REST API "Status Codes and Error Responses" array shape.
    name: 'Salesforce',
    errors: {
      vendorError: SalesforceError,
      sendVendorError: sendError,
      send: (reply, { statusCode, message }, request) => {
        if (statusCode === 415) return sendError(reply, new SalesforceError(415, ErrorCode.UnsupportedMediaType, `Content type '${request.headers['content-type'] ?? ''}' not supported`));
        const [entry] = errorBodyForStatus(statusCode, message);
        return sendError(reply, new SalesforceError(statusCode, entry?.errorCode ?? ErrorCode.UnknownException, entry?.message ?? message));
      },
      unexpected: 'An unexpected error occurred. Please include this ErrorId if you contact support.',
    },
  });
  installRequestCounter(app, ctx.requests);
  installFaults(app, ctx.faults, { errorBody: errorBodyForStatus });
  registerOAuthRoutes(app, ctx);
  registerRestRoutes(app, ctx);
  registerSoapRoutes(app, ctx);
  registerCometdRoutes(app, ctx);
  registerControlRoutes(app, ctx);
  return app;
}
