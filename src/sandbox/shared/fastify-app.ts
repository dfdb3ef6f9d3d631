import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/*
 * The Fastify instance every sandbox starts from: the caller's logger without a line per request, connections dropped
 * on close (tests close sandboxes while clients keep connections alive), JSON and HTML-form bodies read the way the
 * vendor reads them, and fastify's own errors answered in the vendor's error shape.
 */

export interface SandboxAppOptions<VendorError extends Error> {
  /** The vendor's name, for the log. */
  name: string;
  logger: FastifyBaseLogger;
  /** Fastify's own request errors (malformed URL encoding …), answered as the vendor would. */
  frameworkError(error: FastifyError, reply: FastifyReply): void;
  bodyLimit?: number;
  routerOptions?: { caseSensitive?: boolean; ignoreTrailingSlash?: boolean };
  json: {
    /** Content types read as JSON. */
    types: string[];
    /** Fastify's default parsers to drop (`text/plain`: a body the vendor does not take is a 415, not an empty record). */
    replace: string[];
    /** The vendor's 400 for a body that is not JSON. */
    invalid(message: string): Error;
  };
  /**
   * Every failure in the vendor's error shape: its own errors as they are; anything else (fastify's unsupported media
   * type or body too large, or an unexpected failure, whose message is replaced by `unexpected`) through `send`.
   */
  errors: {
    vendorError: abstract new (...args: never[]) => VendorError;
    sendVendorError(reply: FastifyReply, error: VendorError): FastifyReply;
    send(reply: FastifyReply, failure: { statusCode: number; message: string }, request: FastifyRequest): FastifyReply;
    unexpected: string;
  };
}

export function sandboxApp<VendorError extends Error>(options: SandboxAppOptions<VendorError>): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.routerOptions ? { routerOptions: options.routerOptions } : {}),
    frameworkErrors: (error, _request, reply) => options.frameworkError(error, reply),
    forceCloseConnections: true,
  });
  const { types, replace, invalid } = options.json;
  app.removeContentTypeParser(replace);
  app.addContentTypeParser(types, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJson(String(body), invalid));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  installErrorHandler(app, options.name, options.errors);
  return app;
}

function installErrorHandler<VendorError extends Error>(app: FastifyInstance, name: string, errors: SandboxAppOptions<VendorError>['errors']): void {
  app.setErrorHandler((error: Error, request, reply) => {
    if (error instanceof errors.vendorError) return errors.sendVendorError(reply, error);
    const statusCode = failureStatus(error);
    if (statusCode >= 500) request.log.error({ err: error }, `${name} sandbox route failed`);
    return errors.send(reply, { statusCode, message: statusCode >= 500 ? errors.unexpected : error.message }, request);
  });
}

/** Clients send `Content-Type: application/json` with an empty body on bodiless POSTs and DELETEs: not a parse error. */
function parseJson(body: string, invalid: (message: string) => Error): unknown {
  if (body.trim() === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw invalid((error as Error).message);
  }
}

/** The status a failure asks for: fastify's own 4xx/5xx (unsupported media type, body too large), otherwise 500. */
function failureStatus(error: Error): number {
  return 'statusCode' in error && typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
}
