import type { CrmEntityName, CrmRecordRef } from '../connector.ts';
import { idWithPrefix, toId18 } from './ids.ts';
import { entityOfSObject, SOBJECTS } from './objects.ts';
import { child, children, parseXml, XmlParseError, type XmlElement } from '../../util/bounded-xml.ts';

/*
 * Outbound Messages: the SOAP `notifications()` call a Flow / Workflow "Outbound Message" action POSTs to
 * POST /webhooks/salesforce/<secret>. Like every notification here it is a hint — which records changed — never data:
 * the fields it carries are ignored and the worker re-reads the records. There is no signature: the endpoint secret
 * (outbound-endpoint.ts) authenticates the sender, and the OrganizationId (`verifyOrganization`) is a second check.
 * Salesforce retries until it gets `ackResponse(true)` (up to 24 h), may deliver twice and out of order: dedupe on the
 * notification id.
 *
 * The SessionId element is never returned: where an org still sends one it is a live session and must not reach logs
 * or the inbox.
 */

export const OUTBOUND_NAMESPACE = 'http://soap.sforce.com/2005/09/outbound';
const XSI_NAMESPACE = 'http://www.w3.org/2001/XMLSchema-instance';
const SALESFORCE_ID_SHAPE = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;
const SOBJECT_NAME_SHAPE = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
/**
 * A single message holds up to 100 notifications (SOAP API Developer Guide, "Outbound Messaging": "Understanding
 * Notifications"): a message with more did not come from Salesforce, and each notification can cost a job.
 */
export const MAX_NOTIFICATIONS_PER_MESSAGE = 100;

export class OutboundMessageParseError extends Error {
  override readonly name = 'OutboundMessageParseError';
}

export interface OutboundNotification {
  /** The notification id (`04l…`): stable across retries, the dedup key. */
  id: string;
  /** `Opportunity`, from the sObject's xsi:type. */
  sObjectType: string;
  /** 18-character id of the changed record. */
  recordId: string;
  /** The neutral entity when the engine syncs this sObject. */
  entity: CrmEntityName | undefined;
}

export interface OutboundMessage {
  organizationId: string;
  actionId: string;
  enterpriseUrl: string | undefined;
  partnerUrl: string | undefined;
  notifications: OutboundNotification[];
}

const textOf = (element: XmlElement | undefined): string | undefined => {
  const value = element?.text.trim();
  return value === undefined || value === '' ? undefined : value;
};

/** `sf:Opportunity` (a QName in xsi:type) → `Opportunity`; tolerant of a missing or undeclared prefix. */
function sObjectTypeOf(sObject: XmlElement): string | undefined {
  for (const attribute of sObject.attributes) {
    if (attribute.local !== 'type' || (attribute.namespace !== undefined && attribute.namespace !== XSI_NAMESPACE)) continue;
    const typeName = attribute.value.slice(attribute.value.indexOf(':') + 1).trim();
    if (typeName !== '') return typeName;
  }
  return undefined;
}

export function parseOutboundMessage(body: string | Buffer): OutboundMessage {
  let root: XmlElement;
  try {
    root = parseXml(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (error) {
    if (error instanceof XmlParseError) throw new OutboundMessageParseError(`not well-formed XML: ${error.message}`);
    throw error;
  }
  if (root.local !== 'Envelope') throw new OutboundMessageParseError(`expected a SOAP Envelope, got <${root.local}>`);
  const notifications = child(child(root, 'Body'), 'notifications');
  if (!notifications) throw new OutboundMessageParseError('the SOAP Body holds no <notifications> element');
  if (notifications.namespace !== undefined && notifications.namespace !== OUTBOUND_NAMESPACE) {
    throw new OutboundMessageParseError(`<notifications> is in namespace ${notifications.namespace}, not ${OUTBOUND_NAMESPACE}`);
  }
  const organizationId = textOf(child(notifications, 'OrganizationId'));
  if (!organizationId || !toId18(organizationId)) throw new OutboundMessageParseError('OrganizationId is missing or not a Salesforce id');
  const items = children(notifications, 'Notification');
  if (items.length > MAX_NOTIFICATIONS_PER_MESSAGE) {
    throw new OutboundMessageParseError(`${items.length} notifications in one message; Salesforce sends at most ${MAX_NOTIFICATIONS_PER_MESSAGE}`);
  }

  const parsed: OutboundNotification[] = items.map((item, index) => {
    const id = textOf(child(item, 'Id'));
    const sObject = child(item, 'sObject');
    const rawRecordId = textOf(child(sObject, 'Id'));
    const recordId = rawRecordId ? toId18(rawRecordId) : undefined;
    if (!id || !sObject || !recordId) throw new OutboundMessageParseError(`Notification ${index + 1} lacks its Id, sObject or sObject Id`);
    // Stored (payload, dedup key): only the shape of a Salesforce id is accepted, never arbitrary text.
    if (!SALESFORCE_ID_SHAPE.test(id)) throw new OutboundMessageParseError(`Notification ${index + 1} has an Id that is not a Salesforce id`);
    // The record id's key prefix names the object when the type attribute is missing (tolerant).
    const sObjectType = sObjectTypeOf(sObject) ?? Object.values(SOBJECTS).find((info) => recordId.startsWith(info.keyPrefix))?.sobject;
    if (!sObjectType || !SOBJECT_NAME_SHAPE.test(sObjectType)) throw new OutboundMessageParseError(`Notification ${index + 1} does not say which object it is about`);
    return { id, sObjectType, recordId, entity: entityOfSObject(sObjectType) };
  });
  const actionId = textOf(child(notifications, 'ActionId')) ?? '';
  if (actionId !== '' && !SALESFORCE_ID_SHAPE.test(actionId)) throw new OutboundMessageParseError('ActionId is not a Salesforce id');
  return {
    organizationId: toId18(organizationId) ?? organizationId,
    actionId,
    enterpriseUrl: textOf(child(notifications, 'EnterpriseUrl')),
    partnerUrl: textOf(child(notifications, 'PartnerUrl')),
    notifications: parsed,
  };
}

/** Whether the message comes from the expected org; 15- and 18-character ids compare as the same record. */
export function verifyOrganization(message: Pick<OutboundMessage, 'organizationId'>, expectedOrganizationId: string): boolean {
  const actual = toId18(message.organizationId);
  const expected = toId18(expectedOrganizationId);
  return actual !== undefined && expected !== undefined && actual.startsWith('00D') && actual === expected;
}

/**
 * The records to enqueue: one ref per synced record, however often (and in whichever id form) the message names it, so
 * a message costs at most one job per record.
 */
export function outboundRefs(message: OutboundMessage): CrmRecordRef[] {
  const refs = new Map<string, CrmRecordRef>();
  for (const notification of message.notifications) {
    const entity = notification.entity;
    if (!entity) continue;
    const id = idWithPrefix(notification.recordId, SOBJECTS[entity].keyPrefix);
    if (id && !refs.has(`${entity}:${id}`)) refs.set(`${entity}:${id}`, { entity, id });
  }
  return [...refs.values()];
}

export const ACK_CONTENT_TYPE = 'text/xml; charset=utf-8';

/**
 * The acknowledgement, exactly as SOAP API "Outbound Messaging" gives it. `true` only after the notifications are
 * durably in the inbox: Salesforce retries anything else (a `false` Ack, an error status, no answer) with back-off for
 * up to 24 hours.
 */
export function ackResponse(ack: boolean): string {
  return [
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">',
    '  <soapenv:Body>',
    '    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">',
    `      <Ack>${ack ? 'true' : 'false'}</Ack>`,
    '    </notificationsResponse>',
    '  </soapenv:Body>',
    '</soapenv:Envelope>',
  ].join('\n');
}
