import type { FastifyInstance } from 'fastify';
import { ACK_CONTENT_TYPE, ackResponse, outboundRefs, parseOutboundMessage, verifyOrganization } from '../../crm/salesforce/outbound-message.ts';
import type { Inbox } from '../../store/types.ts';
import type { Logger } from '../../util/logger.ts';
import type { Metrics } from '../metrics.ts';
import { rawBodyParser } from '../raw-body.ts';

export interface SalesforceWebhookDeps {
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /** Set when the Salesforce connection takes Outbound Messages; undefined = route answers 404. */
  connection: { name: string; organizationId: string } | undefined;
}

const SOURCE = 'salesforce';

/**
 * Salesforce Outbound Messages: a SOAP notification per change, retried until we answer `<Ack>true</Ack>`. The ack is
 * sent only after the inbox commit, so an acknowledged notification is durable; anything else gets no ack and
 * Salesforce retries. The stored payload is the parsed notification, never the raw envelope: it carries a live
 * session id.
 */
export function salesforceWebhookRoute(app: FastifyInstance, deps: SalesforceWebhookDeps): void {
  const { inbox, metrics, logger } = deps;
  app.register(async (scope) => {
    rawBodyParser(scope, deps.bodyLimitBytes, (reason) => {
      metrics.webhookRequests.inc({ source: SOURCE, outcome: 'rejected' });
      metrics.webhookRejections.inc({ source: SOURCE, reason });
    });
    scope.post('/webhooks/salesforce', async (request, reply) => {
      const stopTimer = metrics.webhookDuration.startTimer({ source: SOURCE });
      const rejectWith = (status: number, reason: string, message: string) => {
        metrics.webhookRequests.inc({ source: SOURCE, outcome: 'rejected' });
        metrics.webhookRejections.inc({ source: SOURCE, reason });
        logger.warn({ source: SOURCE, reason, status, ip: request.ip }, `webhook rejected: ${message}`);
        stopTimer();
        return reply.code(status).type(ACK_CONTENT_TYPE).send(ackResponse(false));
      };
      const connection = deps.connection;
      if (!connection) return rejectWith(404, 'not_configured', 'no Salesforce connection takes outbound messages');
      let message;
      try {
        message = parseOutboundMessage(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
      } catch (error) {
        return rejectWith(400, 'invalid_payload', error instanceof Error ? error.message : 'not an outbound message');
      }
      if (!verifyOrganization(message, connection.organizationId)) {
        return rejectWith(403, 'wrong_organization', 'the message comes from another Salesforce organization');
      }
      const refs = outboundRefs(message);
      const ids = message.notifications.map((n) => n.id).sort();
      const result = await inbox.append({
        source: SOURCE,
        dedupKey: `om:${message.actionId}:${ids.join(',')}`,
        eventName: `outbound-message`,
        resourceId: refs[0]?.id ?? null,
        payload: JSON.stringify({ organizationId: message.organizationId, actionId: message.actionId, notifications: message.notifications }),
        jobs: refs.map((crm) => ({ connection: connection.name, cause: 'event' as const, crm })),
      });
      metrics.webhookRequests.inc({ source: SOURCE, outcome: result.duplicate ? 'duplicate' : 'accepted' });
      stopTimer();
      return reply.code(200).type(ACK_CONTENT_TYPE).send(ackResponse(true));
    });
  });
}
