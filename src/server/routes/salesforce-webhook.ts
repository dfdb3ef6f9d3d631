import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OUTBOUND_WEBHOOK_PATH, type OutboundEndpoint } from '../../crm/salesforce/outbound-endpoint.ts';
import {
  ACK_CONTENT_TYPE,
  ackResponse,
  OutboundMessageParseError,
  outboundRefs,
  parseOutboundMessage,
  verifyOrganization,
} from '../../crm/salesforce/outbound-message.ts';
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
  connection: OutboundEndpoint | undefined;
}

/** SOAP 1.1 (what Salesforce sends) is text/xml; the other XML media types are tolerated. Only UTF-8 is read. */
const XML_MEDIA_TYPES = new Set(['text/xml', 'application/xml', 'application/soap+xml']);

function isUtf8Xml(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const [mediaType, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (!mediaType || !XML_MEDIA_TYPES.has(mediaType)) return false;
  const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice(8).replace(/"/g, '');
  return charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii';
}

/** A DTD is where XXE and entity expansion live; no Outbound Message has one, so its mere presence is a rejection. */
function declaresDtd(body: Buffer): boolean {
  return body.includes('<!DOCTYPE') || body.includes('<!ENTITY');
}

/** The secret from `/webhooks/salesforce/<secret>` or `?token=<secret>`; never logged. */
function presentedSecret(request: FastifyRequest): string | undefined {
  const fromPath = (request.params as { token?: string } | undefined)?.token;
  if (fromPath) return fromPath;
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof fromQuery === 'string' && fromQuery !== '' ? fromQuery : undefined;
}

/**
 * Salesforce Outbound Messages: a SOAP notification per change, retried until we answer `<Ack>true</Ack>`. Cheap checks
 * run before the XML is read (size in the body parser, media type, no DTD, the URL secret), then a bounded parse, the
 * org id, at most 100 notifications, and one job per record. The ack is sent only after the inbox commit, so an
 * acknowledged notification is durable; anything else gets a nack and Salesforce retries. The stored payload is the
 * parsed notification, never the raw envelope.
 */
export function salesforceWebhookRoute(app: FastifyInstance, deps: SalesforceWebhookDeps): void {
  const options = {
    source: 'salesforce',
    // The optional segment is the endpoint secret; the route stays registered without it so a missing secret is a 401.
    path: `${OUTBOUND_WEBHOOK_PATH}/:token?`,
    bodyLimitBytes: deps.bodyLimitBytes,
    metrics: deps.metrics,
    logger: deps.logger,
    rejectionBody: () => ({ contentType: ACK_CONTENT_TYPE, body: ackResponse(false) }),
  };
  webhookRoute(app, options, async ({ request, reply, body, reject, accepted }) => {
    const connection = deps.connection;
    if (!connection) return reject(404, 'not_configured', 'no Salesforce connection takes outbound messages');
    if (!isUtf8Xml(request.headers['content-type'])) {
      return reject(415, 'unsupported_media_type', 'an outbound message is UTF-8 text/xml');
    }
    if (declaresDtd(body)) return reject(400, 'invalid_payload', 'DOCTYPE and ENTITY declarations are not accepted');
    if (!connection.secret.matches(presentedSecret(request))) {
      return reject(401, 'unauthenticated', 'the endpoint URL does not carry the configured outbound message secret');
    }
    let message;
    try {
      message = parseOutboundMessage(body);
    } catch (error) {
      if (error instanceof OutboundMessageParseError) return reject(400, 'invalid_payload', error.message);
      throw error;
    }
    if (!verifyOrganization(message, connection.organizationId)) {
      return reject(403, 'wrong_organization', 'the message comes from another Salesforce organization');
    }
    const refs = outboundRefs(message);
    const ids = [...new Set(message.notifications.map((n) => n.id))].sort();
    const result = await deps.inbox.append({
      source: 'salesforce',
      dedupKey: `om:${message.actionId}:${ids.join(',')}`,
      eventName: 'outbound-message',
      resourceId: refs[0]?.id ?? null,
      // Never the raw envelope: it may carry a SessionId (a live session of the org) from an org that still sends one.
      payload: JSON.stringify({ organizationId: message.organizationId, actionId: message.actionId, notifications: message.notifications }),
      jobs: refs.map((crm) => ({ connection: connection.name, cause: 'event' as const, crm, microsoftSide: false })),
    });
    accepted(result.duplicate);
    return reply.code(200).type(ACK_CONTENT_TYPE).send(ackResponse(true));
  });
}
