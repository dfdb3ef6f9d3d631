import type { FieldDefinition, FieldValue } from '../schema/field-model.ts';
import { formatIsoDateTime } from '../data/wire-dates.ts';

export interface NotificationField {
  field: FieldDefinition;
  value: FieldValue;
}

export interface SoapNotification {
  /**
   * The notification id (`04l…`), stable across retries so receivers can de-duplicate (SOAP API "Outbound Messaging").
   */
  id: string;
  sobjectType: string;
  fields: NotificationField[];
}

export interface NotificationsEnvelope {
  organizationId: string;
  actionId: string;
  sessionId: string | null;
  enterpriseUrl: string;
  partnerUrl: string;
  notifications: SoapNotification[];
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * SOAP values: doubles keep a decimal point (`50000.0`, as in the SOAP API "Outbound Messaging" sample), datetimes are
 * ISO 8601 UTC.
 */
function xmlValue(field: FieldDefinition, value: Exclude<FieldValue, null>): string {
  if (typeof value === 'number') {
    if (field.type === 'datetime') return formatIsoDateTime(value);
    if (field.type === 'int') return String(Math.trunc(value));
    return Number.isInteger(value) ? `${value}.0` : String(value);
  }
  return escapeXml(String(value));
}

function sObjectXml(notification: SoapNotification): string {
  const fields = notification.fields
    .map(({ field, value }) =>
      // Null fields are sent as xsi:nil (UNCONFIRMED whether Salesforce omits them instead); receivers should accept both.
      value === null ? `<sf:${field.name} xsi:nil="true"/>` : `<sf:${field.name}>${xmlValue(field, value)}</sf:${field.name}>`,
    )
    .join('');
  return `<sObject xsi:type="sf:${notification.sobjectType}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">${fields}</sObject>`;
}

/** The `notifications` SOAP envelope of SOAP API "Outbound Messaging", namespaces and element order as in the WSDL. */
export function buildNotificationsEnvelope(envelope: NotificationsEnvelope): string {
  const session = envelope.sessionId === null ? '<SessionId xsi:nil="true"/>' : `<SessionId>${escapeXml(envelope.sessionId)}</SessionId>`;
  const notifications = envelope.notifications
    .map((notification) => `<Notification><Id>${notification.id}</Id>${sObjectXml(notification)}</Notification>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<soapenv:Body>' +
    '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">' +
    `<OrganizationId>${envelope.organizationId}</OrganizationId>` +
    `<ActionId>${envelope.actionId}</ActionId>` +
    session +
    `<EnterpriseUrl>${escapeXml(envelope.enterpriseUrl)}</EnterpriseUrl>` +
    `<PartnerUrl>${escapeXml(envelope.partnerUrl)}</PartnerUrl>` +
    notifications +
    '</notifications>' +
    '</soapenv:Body>' +
    '</soapenv:Envelope>'
  );
}

/**
 * Whether a response acknowledges the message: a SOAP envelope whose `notificationsResponse` says `<Ack>true</Ack>`
 * (any namespace prefix). Anything else — an empty 200, `false`, HTML — means Salesforce retries (SOAP API "Outbound
 * Messaging").
 */
export function isAcknowledged(responseBody: string): boolean {
  return /<(?:[\w-]+:)?Envelope[\s>]/.test(responseBody) && /<(?:[\w-]+:)?Ack>\s*true\s*<\/(?:[\w-]+:)?Ack>/i.test(responseBody);
}
