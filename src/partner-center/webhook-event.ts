import { createHash } from 'node:crypto';
import { canonicalizeKeys, isPlainObject } from './case-insensitive.ts';

/*
 * A Partner Center webhook notification ("Partner Center webhook events"). It says only "resource X changed": the
 * worker re-reads the referral, so nothing here is trusted as referral data.
 */

/** Where the service takes Partner Center's notifications: the route, the registration's default URL and its check. */
export const WEBHOOK_PATH = '/webhooks/partner-center';

export const REFERRAL_EVENT_NAMES = [
  'referral-created',
  'referral-updated',
  'related-referral-created',
  'related-referral-updated',
] as const;
export type ReferralEventName = (typeof REFERRAL_EVENT_NAMES)[number];

export interface PartnerCenterWebhookEvent {
  eventName: string;
  resourceUri: string;
  resourceName: string | undefined;
  auditUri: string | null;
  resourceChangeUtcDate: string;
  /** Last path segment of `resourceUri`, set for referral events only. */
  referralId?: string;
}

export type WebhookEventParseResult =
  | { ok: true; event: PartnerCenterWebhookEvent }
  | { ok: false; error: string };

/** `AuditUrl` is how the docs' event-model table (mis)names `AuditUri`; accept both. */
const CANONICAL_KEYS = ['EventName', 'ResourceUri', 'ResourceName', 'AuditUri', 'AuditUrl', 'ResourceChangeUtcDate'];

/**
 * GUIDs in practice, but only "looks like an identifier" is required so that a change of id format on Microsoft's
 * side does not drop events. The docs sample's literal `{{ReferralID}}` placeholder is rejected.
 */
const REFERRAL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isReferralEventName(eventName: string): boolean {
  return (REFERRAL_EVENT_NAMES as readonly string[]).includes(eventName.toLowerCase());
}

/** Accepts the parsed JSON body, or the raw body as text/bytes. */
export function parseWebhookEvent(payload: unknown): WebhookEventParseResult {
  let body = payload;
  if (typeof payload === 'string' || payload instanceof Uint8Array) {
    try {
      body = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
    } catch {
      return fail('the body is not valid JSON');
    }
  }
  if (!isPlainObject(body)) return fail('expected a JSON object');

  const { value: fields, conflicts } = canonicalizeKeys(body, CANONICAL_KEYS);
  if (conflicts.length > 0) return fail(`conflicting values for ${conflicts.join(', ')} sent in different letter cases`);

  const eventName = requiredString(fields, 'EventName');
  if (typeof eventName !== 'string') return eventName;
  const resourceUri = requiredString(fields, 'ResourceUri');
  if (typeof resourceUri !== 'string') return resourceUri;
  // Required by the Swagger, and the dedup key depends on it: without it two distinct changes would look like one.
  const resourceChangeUtcDate = requiredString(fields, 'ResourceChangeUtcDate');
  if (typeof resourceChangeUtcDate !== 'string') return resourceChangeUtcDate;

  const resourceName = fields.ResourceName;
  if (resourceName != null && typeof resourceName !== 'string') return fail('ResourceName must be a string');
  const auditUri = fields.AuditUri ?? fields.AuditUrl ?? null;
  if (auditUri !== null && typeof auditUri !== 'string') return fail('AuditUri must be a string or null');

  const event: PartnerCenterWebhookEvent = {
    eventName,
    resourceUri,
    resourceName: resourceName ?? undefined,
    auditUri,
    resourceChangeUtcDate,
  };

  if (isReferralEventName(eventName) || resourceName?.toLowerCase() === 'referral') {
    const referralId = lastPathSegment(resourceUri);
    if (referralId === undefined || !REFERRAL_ID_PATTERN.test(referralId)) {
      return fail(`ResourceUri does not end in a referral id: ${truncate(resourceUri)}`);
    }
    event.referralId = referralId;
  }
  return { ok: true, event };
}

/**
 * Deliveries are at-least-once and a redelivery is byte-for-byte the same notification, so (event, resource, change
 * time) identifies it. Hashed to keep the inbox key short whatever the URI length.
 */
export function dedupKeyFor(event: Pick<PartnerCenterWebhookEvent, 'eventName' | 'resourceUri' | 'resourceChangeUtcDate'>): string {
  const identity = JSON.stringify([event.eventName.toLowerCase(), event.resourceUri, event.resourceChangeUtcDate]);
  return `pc:${createHash('sha256').update(identity).digest('hex')}`;
}

function requiredString(fields: Record<string, unknown>, key: string): string | { ok: false; error: string } {
  const value = fields[key];
  if (value === undefined || value === null) return fail(`${key} is missing`);
  if (typeof value !== 'string') return fail(`${key} must be a string, got ${Array.isArray(value) ? 'array' : typeof value}`);
  if (value.trim() === '') return fail(`${key} is empty`);
  return value;
}

function lastPathSegment(uri: string): string | undefined {
  let path: string;
  try {
    path = new URL(uri).pathname;
  } catch {
    path = uri.split(/[?#]/, 1)[0] ?? '';
  }
  const segment = path.split('/').filter((part) => part !== '').at(-1);
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error: `invalid Partner Center webhook event: ${error}` };
}

function truncate(value: string, max = 200): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
