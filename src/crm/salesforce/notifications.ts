import { isRejection, parseOrReject, reject, type DecodedNotification, type NotificationDecoder, type NotificationRejection, type NotificationRequest, type NotificationRoute } from '../notifications.ts';
import { OUTBOUND_WEBHOOK_PATH, type OutboundEndpoint } from './outbound-endpoint.ts';
import { ACK_CONTENT_TYPE, ackResponse, OutboundMessageParseError, outboundRefs, parseOutboundMessage, verifyOrganization } from './outbound-message.ts';

/** SOAP 1.1 (what Salesforce sends) is text/xml; the other XML media types are tolerated. Only UTF-8 is read. */
const XML_MEDIA_TYPES = new Set(['text/xml', 'application/xml', 'application/soap+xml']);

function isUtf8Xml(contentType: string | string[] | undefined): boolean {
  if (typeof contentType !== 'string') return false;
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
function presentedSecret(request: NotificationRequest): string | undefined {
  const fromPath = request.params.token;
  if (typeof fromPath === 'string' && fromPath !== '') return fromPath;
  const fromQuery = request.query.token;
  return typeof fromQuery === 'string' && fromQuery !== '' ? fromQuery : undefined;
}

/**
 * Salesforce Outbound Messages: a SOAP notification per change, retried until we answer `<Ack>true</Ack>`, so every
 * rejection is a nack and the ack goes out only once the event is durable.
 */
export const SALESFORCE_NOTIFICATION_ROUTE: NotificationRoute = {
  source: 'salesforce',
  // The optional segment is the endpoint secret; the route stays registered without it so a missing secret is a 401.
  path: `${OUTBOUND_WEBHOOK_PATH}/:token?`,
  notConfigured: 'no Salesforce connection takes outbound messages',
  rejectionBody: () => ({ contentType: ACK_CONTENT_TYPE, body: ackResponse(false) }),
  acceptedBody: () => ({ contentType: ACK_CONTENT_TYPE, body: ackResponse(true) }),
};

/**
 * Cheap checks run before the XML is read (media type, no DTD, the URL secret), then a bounded parse, the org id, at
 * most 100 notifications, and one record per notification. The stored payload is the parsed notification, never the
 * raw envelope.
 */
export function outboundMessageDecoder(endpoint: OutboundEndpoint): NotificationDecoder {
  return { connection: endpoint.name, decode: (request) => decodeOutboundMessage(request, endpoint) };
}

function decodeOutboundMessage(request: NotificationRequest, endpoint: OutboundEndpoint): NotificationRejection | DecodedNotification {
  if (!isUtf8Xml(request.headers['content-type'])) return reject(415, 'unsupported_media_type', 'an outbound message is UTF-8 text/xml');
  if (declaresDtd(request.body)) return reject(400, 'invalid_payload', 'DOCTYPE and ENTITY declarations are not accepted');
  if (!endpoint.secret.matches(presentedSecret(request))) {
    return reject(401, 'unauthenticated', 'the endpoint URL does not carry the configured outbound message secret');
  }
  const message = parseOrReject(() => parseOutboundMessage(request.body), OutboundMessageParseError);
  if (isRejection(message)) return message;
  if (!verifyOrganization(message, endpoint.organizationId)) {
    return reject(403, 'wrong_organization', 'the message comes from another Salesforce organization');
  }
  const refs = outboundRefs(message);
  const ids = [...new Set(message.notifications.map((n) => n.id))].sort();
  return {
    ok: true,
    dedupKey: `om:${message.actionId}:${ids.join(',')}`,
    eventName: 'outbound-message',
    resourceId: refs[0]?.id ?? null,
    // Never the raw envelope: it may carry a SessionId (a live session of the org) from an org that still sends one.
    payload: JSON.stringify({ organizationId: message.organizationId, actionId: message.actionId, notifications: message.notifications }),
    records: refs,
  };
}
