import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DataverseWebhookParseError, parseDataverseWebhook, verifyWebhookAuth, type DynamicsWebhookAuth } from '../../crm/dynamics/webhook.ts';
import type { Inbox } from '../../store/types.ts';
import type { Logger } from '../../util/logger.ts';
import type { Metrics } from '../metrics.ts';
import { rawBodyParser } from '../raw-body.ts';

export interface DynamicsWebhookDeps {
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /** The connection the notifications belong to, with its configured credential; undefined = route answers 404. */
  connection: { name: string; auth: DynamicsWebhookAuth } | undefined;
}

const SOURCE = 'dynamics';

/**
 * Dataverse posts a RemoteExecutionContext per change. Like the Partner Center route: authenticate (constant-time),
 * then parse, then commit event and job together, then 2xx. The payload is only a hint; the worker re-reads the row.
 */
export function dynamicsWebhookRoute(app: FastifyInstance, deps: DynamicsWebhookDeps): void {
  const { inbox, metrics, logger } = deps;
  app.register(async (scope) => {
    rawBodyParser(scope, deps.bodyLimitBytes, (reason) => {
      metrics.webhookRequests.inc({ source: SOURCE, outcome: 'rejected' });
      metrics.webhookRejections.inc({ source: SOURCE, reason });
    });
    scope.post('/webhooks/dynamics', async (request, reply) => {
      const stopTimer = metrics.webhookDuration.startTimer({ source: SOURCE });
      const rejectWith = (status: number, reason: string, message: string) => {
        metrics.webhookRequests.inc({ source: SOURCE, outcome: 'rejected' });
        metrics.webhookRejections.inc({ source: SOURCE, reason });
        logger.warn({ source: SOURCE, reason, status, ip: request.ip }, `webhook rejected: ${message}`);
        stopTimer();
        return reply.code(status).send({ error: { code: reason, message } });
      };
      const connection = deps.connection;
      if (!connection) return rejectWith(404, 'not_configured', 'no Dynamics 365 connection with a webhook is configured');
      const auth = verifyWebhookAuth(request.headers, request.query as Record<string, string | string[] | undefined>, connection.auth);
      if (!auth.ok) return rejectWith(401, 'unauthenticated', auth.reason);

      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      let event;
      try {
        event = parseDataverseWebhook(body);
      } catch (error) {
        if (error instanceof DataverseWebhookParseError) return rejectWith(400, 'invalid_payload', error.message);
        throw error;
      }
      const result = await inbox.append({
        source: SOURCE,
        // Without an operation id two different changes must never share a key, so the body's hash stands in.
        dedupKey:
          event.operationId ?? event.correlationId
            ? `${event.operationId ?? event.correlationId}:${event.stepId ?? ''}:${event.messageName}:${event.entity}:${event.id}`
            : `body:${createHash('sha256').update(body).digest('hex')}`,
        eventName: `${event.entity}-${event.messageName.toLowerCase()}`,
        resourceId: event.id,
        payload: body.toString('utf8'),
        jobs: [{ connection: connection.name, cause: 'event', crm: { entity: event.entity, id: event.id } }],
      });
      metrics.webhookRequests.inc({ source: SOURCE, outcome: result.duplicate ? 'duplicate' : 'accepted' });
      stopTimer();
      return reply.code(200).send({ accepted: true, id: result.id, duplicate: result.duplicate });
    });
  });
}
