import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';

/**
 * How long a client may take to send a webhook body. The public routes face the internet: without a deadline a client
 * trickling one byte a second holds a connection and a buffer for as long as Node's 5-minute request timeout allows.
 * Partner Center and Dataverse send small bodies in one go.
 */
export const WEBHOOK_BODY_TIMEOUT_MS = 10_000;

/** A body-reading failure, answered with its status; `code` is the rejection reason counted in /metrics. */
class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 408 | 413,
    readonly code: 'body_too_large' | 'body_timeout' | 'bad_request',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads the whole body into one Buffer with a size cap (checked against Content-Length first, then while reading) and
 * a deadline. The stream keeps an `error` listener for its whole life, so a client that aborts mid-body is one failed
 * request, never an unhandled error event.
 */
function readBounded(payload: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(payload.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyError(413, 'body_too_large', `body exceeds ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error: BodyError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('aborted', onAborted);
      if (error) {
        // Stop buffering; what is left of the body is discarded by Node once the answer is sent.
        chunks.length = 0;
        reject(error);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(new BodyError(413, 'body_too_large', `body exceeds ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onAborted = (): void => finish(new BodyError(400, 'bad_request', 'the client aborted the request'));
    const timer = setTimeout(() => finish(new BodyError(408, 'body_timeout', `the body did not arrive within ${timeoutMs} ms`)), timeoutMs);
    payload.on('error', () => finish(new BodyError(400, 'bad_request', 'the request body could not be read')));
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('aborted', onAborted);
  });
}

/**
 * Webhook routes need the exact bytes for signature checks, whatever the Content-Type says, so the encapsulated scope
 * replaces fastify's parsers with one that hands the handler a Buffer. Size, deadline and parse failures are reported
 * through `onReject` so they are counted like every other rejection.
 */
export function rawBodyParser(
  scope: FastifyInstance,
  bodyLimit: number,
  onReject: (reason: string) => void,
  timeoutMs: number = WEBHOOK_BODY_TIMEOUT_MS,
): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (request, payload, done) => {
    readBounded(payload as IncomingMessage, bodyLimit, timeoutMs).then(
      (body) => done(null, body),
      (error: BodyError) => done(error, undefined),
    );
  });
  scope.setErrorHandler((error: FastifyError | BodyError, _request, reply) => {
    if (error instanceof BodyError) {
      onReject(error.code);
      // The client may still be sending: close the connection rather than read the rest of a body we refused.
      return reply.code(error.statusCode).header('connection', 'close').send({ error: { code: error.code, message: error.message } });
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      onReject('body_too_large');
      return reply.code(413).header('connection', 'close').send({ error: { code: 'body_too_large', message: `body exceeds ${bodyLimit} bytes` } });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    onReject(status === 500 ? 'internal_error' : 'bad_request');
    return reply
      .code(status)
      .send({ error: { code: status === 500 ? 'internal_error' : 'bad_request', message: status === 500 ? 'internal error' : error.message } });
  });
}
