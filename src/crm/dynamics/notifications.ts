import { createHash } from 'node:crypto';
import { isRejection, parseOrReject, reject, type DecodedNotification, type NotificationDecoder, type NotificationRejection, type NotificationRequest, type NotificationRoute } from '../notifications.ts';
import { dealPeopleEvent } from '../deal-contacts.ts';
import { DataverseWebhookParseError, parseDataversePeople, parseDataverseWebhook, verifyWebhookAuth, type DataversePeopleEvent, type DynamicsWebhookAuth } from './webhook.ts';

/**
 * Dataverse posts a RemoteExecutionContext per change ("Use webhooks to create external handlers for server events").
 * The payload is only a hint: the worker re-reads the row.
 */
export const DYNAMICS_NOTIFICATION_ROUTE: NotificationRoute = {
  source: 'dynamics',
  path: '/webhooks/dynamics',
  json: true,
  notConfigured: 'no Dynamics 365 connection with a webhook is configured',
  acceptedBody: ({ id, duplicate }) => ({ body: { accepted: true, id, duplicate } }),
};

/** Authenticates (constant-time) before it parses; the dedup key is the operation, or the body's hash without one. */
export function dataverseNotificationDecoder(connection: string, auth: DynamicsWebhookAuth): NotificationDecoder {
  return { connection, decode: (request) => decodeDataverseNotification(request, auth) };
}

function decodeDataverseNotification(request: NotificationRequest, auth: DynamicsWebhookAuth): NotificationRejection | DecodedNotification {
  const verdict = verifyWebhookAuth(request.headers, request.query, auth);
  if (!verdict.ok) return reject(401, 'unauthenticated', verdict.reason);
  const people = parseDataversePeople(request.body);
  if (people) return peopleNotification(people, request.body);
  const event = parseOrReject(() => parseDataverseWebhook(request.body), DataverseWebhookParseError);
  if (isRejection(event)) return event;
  const operation = event.operationId ?? event.correlationId;
  return {
    ok: true,
    // Without an operation id two different changes must never share a key, so the body's hash stands in.
    dedupKey: operation
      ? `${operation}:${event.stepId ?? ''}:${event.messageName}:${event.entity}:${event.id}`
      : `body:${createHash('sha256').update(request.body).digest('hex')}`,
    eventName: `${event.entity}-${event.messageName.toLowerCase()}`,
    resourceId: event.id,
    payload: request.body.toString('utf8'),
    records: [{ entity: event.entity, id: event.id }],
    actor: { initiatingUserId: event.initiatingUserId, depth: event.depth },
  };
}

/**
 * A stakeholder or access-team change, filed under the opportunity it concerns with an event name saying which people
 * changed (see deal-contacts.ts): its job merges the pair although the opportunity's version did not move. A connection
 * between two other rows is accepted and kept, and asks for nothing.
 */
function peopleNotification(event: DataversePeopleEvent, body: Buffer): DecodedNotification {
  const operation = event.operationId ?? event.correlationId;
  const id = event.opportunityId;
  return {
    ok: true,
    dedupKey: operation
      ? `${operation}:${event.stepId ?? ''}:${event.messageName}:people:${id ?? ''}`
      : `body:${createHash('sha256').update(body).digest('hex')}`,
    eventName: dealPeopleEvent(event.people, event.messageName.toLowerCase()),
    resourceId: id ?? null,
    payload: body.toString('utf8'),
    records: id ? [{ entity: 'opportunity', id }] : [],
    actor: { initiatingUserId: event.initiatingUserId, depth: event.depth },
  };
}
