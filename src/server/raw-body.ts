import type { FastifyError, FastifyInstance } from 'fastify';

/**
 * Webhook routes need the exact bytes for signature checks, whatever the Content-Type says, so the encapsulated scope
 * replaces fastify's parsers with one that hands the handler a Buffer. Body-limit and parse failures are reported
 * through `onReject` so they are counted like every other rejection.
 */
export function rawBodyParser(scope: FastifyInstance, bodyLimit: number, onReject: (reason: string) => void): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
  scope.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      onReject('body_too_large');
      return reply.code(413).send({ error: { code: 'body_too_large', message: `body exceeds ${bodyLimit} bytes` } });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    onReject(status === 500 ? 'internal_error' : 'bad_request');
    return reply
      .code(status)
      .send({ error: { code: status === 500 ? 'internal_error' : 'bad_request', message: status === 500 ? 'internal error' : error.message } });
  });
}
