import type { FastifyInstance } from 'fastify';
import { ACK_CONTENT_TYPE, ackResponse, outboundRefs, parseOutboundMessage, verifyOrganization } from '../../crm/salesforce/outbound-message.ts';
import type { Inbox } from '../../store/types.ts';
import type { Logger } from '../../util/logger.ts';
import type { Metrics } from '../metrics.ts';
import { webhookRoute } from '../webhook-route.ts';

export interface SalesforceWebhookDeps {
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /** Set when the Salesforce connection takes Outbound Messages; undefined = route answers 404. */
  connection: { name: string; organizationId: string } | undefined;
}

/**
 * Salesforce Outbound Messages: a SOAP notification per change, retried until we answer `<Ack>true</Ack>`. The ack is
 * sent only after the inbox commit, so an acknowledged notification is durable; anything else gets a nack and
 * Salesforce retries. The stored payload is the parsed notification, never the raw envelope: it carries a live
 * session id.
 */
export function salesforceWebhookRoute(app: FastifyInstance, deps: SalesforceWebhookDeps): void {
  const options = {
    source: 'salesforce',
    path: '/webhooks/salesforce',
    bodyLimitBytes: deps.bodyLimitBytes,
    metrics: deps.metrics,
    logger: deps.logger,
    rejectionBody: () => ({ contentType: ACK_CONTENT_TYPE, body: ackResponse(false) }),
  };
  webhookRoute(app, options, async ({ reply, body, reject, accepted }) => {
    const connection = deps.connection;
    if (!connection) return reject(404, 'not_configured', 'no Salesforce connection takes outbound messages');
    let message;
    try {
      message = parseOutboundMessage(body);
    } catch (error) {
      return reject(400, 'invalid_payload', error instanceof Error ? error.message : 'not an outbound message');
    }
    if (!verifyOrganization(message, connection.organizationId)) {
      return reject(403, 'wrong_organization', 'the message comes from another Salesforce organization');
    }
    const refs = outboundRefs(message);
    const ids = message.notifications.map((n) => n.id).sort();
    const result = await deps.inbox.append({
      source: 'salesforce',
      dedupKey: `om:${message.actionId}:${ids.join(',')}`,
      eventName: 'outbound-message',
      resourceId: refs[0]?.id ?? null,
      payload: JSON.stringify({ organizationId: message.organizationId, actionId: message.actionId, notifications: message.notifications }),
      jobs: refs.map((crm) => ({ connection: connection.name, cause: 'event' as const, crm, microsoftSide: false })),
    });
    accepted(result.duplicate);
    return reply.code(200).type(ACK_CONTENT_TYPE).send(ackResponse(true));
  });
}
