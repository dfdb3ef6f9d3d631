import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DataverseWebhookParseError, parseDataverseWebhook, verifyWebhookAuth, type DynamicsWebhookAuth } from '../../crm/dynamics/webhook.ts';
import type { Inbox } from '../../store/types.ts';
import type { WriteActor } from '../../crm/connector.ts';
import type { Logger } from '../../util/logger.ts';
import type { Metrics } from '../metrics.ts';
import { MAX_JSON_DEPTH, webhookRoute } from '../webhook-route.ts';

export interface DynamicsWebhookDeps {
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /**
   * The connection the notifications belong to, with its configured credential; undefined = route answers 404.
   * `isOwnWrite` recognises the echo of our own writes, which is stored but needs no sync.
   */
  connection:
    | { name: string; auth: DynamicsWebhookAuth; isOwnWrite?: ((actor: WriteActor) => Promise<boolean>) | undefined }
    | undefined;
}

/**
 * Dataverse posts a RemoteExecutionContext per change. Like the Partner Center route: authenticate (constant-time),
 * then parse, then commit event and job together, then 2xx. The payload is only a hint; the worker re-reads the row.
 */
export function dynamicsWebhookRoute(app: FastifyInstance, deps: DynamicsWebhookDeps): void {
  const options = {
    source: 'dynamics',
    path: '/webhooks/dynamics',
    bodyLimitBytes: deps.bodyLimitBytes,
    maxJsonDepth: MAX_JSON_DEPTH,
    metrics: deps.metrics,
    logger: deps.logger,
  };
  webhookRoute(app, options, async ({ request, reply, body, reject, accepted }) => {
    const connection = deps.connection;
    if (!connection) return reject(404, 'not_configured', 'no Dynamics 365 connection with a webhook is configured');
    const auth = verifyWebhookAuth(request.headers, request.query as Record<string, string | string[] | undefined>, connection.auth);
    if (!auth.ok) return reject(401, 'unauthenticated', auth.reason);

    let event;
    try {
      event = parseDataverseWebhook(body);
    } catch (error) {
      if (error instanceof DataverseWebhookParseError) return reject(400, 'invalid_payload', error.message);
      throw error;
    }
    const operation = event.operationId ?? event.correlationId;
    const ours = (await connection.isOwnWrite?.({ initiatingUserId: event.initiatingUserId, depth: event.depth })) ?? false;
    const result = await deps.inbox.append({
      source: 'dynamics',
      // Without an operation id two different changes must never share a key, so the body's hash stands in.
      dedupKey: operation
        ? `${operation}:${event.stepId ?? ''}:${event.messageName}:${event.entity}:${event.id}`
        : `body:${createHash('sha256').update(body).digest('hex')}`,
      eventName: `${event.entity}-${event.messageName.toLowerCase()}`,
      resourceId: event.id,
      payload: body.toString('utf8'),
      jobs: ours ? [] : [{ connection: connection.name, cause: 'event', crm: { entity: event.entity, id: event.id }, microsoftSide: false }],
    });
    accepted(result.duplicate);
    return reply.code(200).send({ accepted: true, id: result.id, duplicate: result.duplicate });
  });
}
