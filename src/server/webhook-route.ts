import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../util/logger.ts';
import type { Metrics } from './metrics.ts';
import { jsonDepthExceeds } from './json-depth.ts';
import { rawBodyParser } from './raw-body.ts';

/**
 * Nesting allowed in a JSON webhook body. Partner Center events are flat and a Dataverse RemoteExecutionContext nests
 * about ten levels; 64 leaves room for both while keeping every recursive consumer (JSON.stringify, the admin API)
 * far from a stack overflow.
 */
export const MAX_JSON_DEPTH = 64;

export interface WebhookRouteOptions {
  source: string;
  path: string;
  bodyLimitBytes: number;
  metrics: Metrics;
  logger: Logger;
  /** JSON routes: bodies nested deeper than this are refused (400 `too_deep`) before anything else looks at them. */
  maxJsonDepth?: number;
  /** How a rejection is written; default the JSON error body. Outbound Messages answer with a SOAP nack instead. */
  rejectionBody?: (reason: string, message: string) => { contentType: string; body: string | object };
}

export interface WebhookContext {
  request: FastifyRequest;
  reply: FastifyReply;
  /** The exact bytes received. */
  body: Buffer;
  /** Counts, logs (without secrets) and answers a rejection; nothing has been stored. */
  reject(status: number, reason: string, message: string, options?: { retryAfterSeconds?: number | undefined }): FastifyReply;
  /** Counts an accepted notification once it is durable. */
  accepted(duplicate: boolean): void;
}

/**
 * What every notification route shares: the raw body (signatures and hashes need the exact bytes), a latency timer,
 * and rejections counted by reason in /metrics and logged; the handler does authentication, parsing and the commit.
 */
export function webhookRoute(app: FastifyInstance, options: WebhookRouteOptions, handler: (context: WebhookContext) => Promise<unknown>): void {
  const { source, metrics, logger } = options;
  app.register(async (scope) => {
    rawBodyParser(scope, options.bodyLimitBytes, (reason) => {
      metrics.webhookRequests.inc({ source, outcome: 'rejected' });
      metrics.webhookRejections.inc({ source, reason });
    });
    scope.post(options.path, async (request, reply) => {
      const stopTimer = metrics.webhookDuration.startTimer({ source });
      const context: WebhookContext = {
        request,
        reply,
        body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        reject(status, reason, message, rejectOptions) {
          metrics.webhookRequests.inc({ source, outcome: 'rejected' });
          metrics.webhookRejections.inc({ source, reason });
          logger.warn({ source, reason, status, ip: request.ip }, `webhook rejected: ${message}`);
          stopTimer();
          const answer = options.rejectionBody?.(reason, message) ?? { contentType: 'application/json', body: { error: { code: reason, message } } };
          if (rejectOptions?.retryAfterSeconds !== undefined) reply.header('retry-after', String(rejectOptions.retryAfterSeconds));
          return reply.code(status).type(answer.contentType).send(answer.body);
        },
        accepted(duplicate) {
          metrics.webhookRequests.inc({ source, outcome: duplicate ? 'duplicate' : 'accepted' });
          stopTimer();
        },
      };
      // Cheap and before any signature, certificate or parser work: one pass over bytes already in memory.
      if (options.maxJsonDepth !== undefined && jsonDepthExceeds(context.body, options.maxJsonDepth)) {
        return context.reject(400, 'too_deep', `the JSON body nests deeper than ${options.maxJsonDepth} levels`);
      }
      return handler(context);
    });
  });
}
