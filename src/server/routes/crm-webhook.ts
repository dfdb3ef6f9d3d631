import type { FastifyInstance } from 'fastify';
import type { WriteActor } from '../../crm/connector.ts';
import type { NotificationDecoder, NotificationRoute } from '../../crm/notifications.ts';
import type { Inbox } from '../../store/types.ts';
import type { Logger } from '../../util/logger.ts';
import type { Metrics } from '../metrics.ts';
import { MAX_JSON_DEPTH, webhookRoute } from '../webhook-route.ts';

/** A configured connection's side of a CRM notification route. */
export interface CrmNotificationReceiver {
  decoder: NotificationDecoder;
  /** Recognises the echo of our own writes, which is stored but needs no sync; absent: every notification syncs. */
  isOwnWrite?: ((actor: WriteActor) => Promise<boolean>) | undefined;
}

export interface CrmWebhookDeps {
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /** Undefined: no connection of this vendor takes notifications, and the route answers 404. */
  receiver: CrmNotificationReceiver | undefined;
}

/**
 * One CRM's notification route. The vendor's decoder says what a request means; this stores the event and the jobs it
 * asks for in one transaction, then answers, so an acknowledged notification is durable and anything else is retried.
 */
export function crmWebhookRoute(app: FastifyInstance, route: NotificationRoute, deps: CrmWebhookDeps): void {
  const options = {
    source: route.source,
    path: route.path,
    bodyLimitBytes: deps.bodyLimitBytes,
    metrics: deps.metrics,
    logger: deps.logger,
    ...(route.json ? { maxJsonDepth: MAX_JSON_DEPTH } : {}),
    ...(route.rejectionBody ? { rejectionBody: route.rejectionBody } : {}),
  };
  webhookRoute(app, options, async ({ request, reply, body, reject, accepted }) => {
    const receiver = deps.receiver;
    if (!receiver) return reject(404, 'not_configured', route.notConfigured);
    const decoded = receiver.decoder.decode({
      headers: request.headers,
      query: (request.query ?? {}) as Record<string, unknown>,
      params: (request.params ?? {}) as Record<string, unknown>,
      body,
    });
    if (!decoded.ok) return reject(decoded.status, decoded.reason, decoded.message);
    const ours = decoded.actor ? ((await receiver.isOwnWrite?.(decoded.actor)) ?? false) : false;
    const result = await deps.inbox.append({
      source: route.source,
      dedupKey: decoded.dedupKey,
      eventName: decoded.eventName,
      resourceId: decoded.resourceId,
      payload: decoded.payload,
      jobs: ours ? [] : decoded.records.map((crm) => ({ connection: receiver.decoder.connection, cause: 'event' as const, crm, microsoftSide: false })),
    });
    accepted(result.duplicate);
    const answer = route.acceptedBody(result);
    if (answer.contentType) reply.type(answer.contentType);
    return reply.code(200).send(answer.body);
  });
}
