/** Event names from the Partner Center webhook events page (2023 list, "Partner Center webhook events"). */
export const WEBHOOK_EVENT_NAMES = [
  'test-created',
  'subscription-updated',
  'subscription-active',
  'usagerecords-thresholdExceeded',
  'referral-created',
  'referral-updated',
  'related-referral-created',
  'related-referral-updated',
  'invoice-ready',
  'azure-fraud-event-detected',
  'dap-admin-relationship-approved',
  'dap-admin-relationship-terminated',
  'dap-admin-relationship-terminated-by-microsoft',
  'reseller-relationship-accepted-by-customer',
  'granular-admin-relationship-activated',
  'granular-admin-relationship-approved',
  'granular-admin-relationship-expired',
  'granular-admin-relationship-terminated',
  'granular-admin-access-assignment-created',
  'granular-admin-access-assignment-activated',
  'granular-admin-access-assignment-updated',
  'granular-admin-access-assignment-deleted',
  'new-commerce-migration-created',
  'new-commerce-migration-completed',
  'new-commerce-migration-failed',
  'new-commerce-migration-schedule-failed',
] as const;

export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

const BY_LOWER = new Map<string, WebhookEventName>(WEBHOOK_EVENT_NAMES.map((name) => [name.toLowerCase(), name]));

export function canonicalEventName(name: string): WebhookEventName | undefined {
  return BY_LOWER.get(name.trim().toLowerCase());
}

/** The documented callback payload; PascalCase keys and key order exactly as in the docs' sample. */
export interface WebhookEventPayload {
  EventName: string;
  ResourceUri: string;
  ResourceName: string;
  AuditUri: string | null;
  ResourceChangeUtcDate: string;
}
