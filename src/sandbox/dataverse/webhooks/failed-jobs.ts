import { randomUUID } from 'node:crypto';
import type { DataServices } from '../data/data-services.ts';
import { nowIso } from '../data/record.ts';
import type { OutgoingDataverseWebhook, WebhookDeliveryRecord } from './webhook-sender.ts';

/** Generic "plug-in / webhook failed" code on a System Job. */
const WEBHOOK_FAILURE_ERROR_CODE = -2147220970;

/**
 * A failed async webhook shows up as a failed System Job (`asyncoperations`, statuscode 31), as on a real org ("Use
 * webhooks to create external handlers for server events").
 */
export function recordFailedJob(services: DataServices, delivery: WebhookDeliveryRecord, webhook: OutgoingDataverseWebhook): void {
  const { registry, store } = services;
  const last = delivery.attempts[delivery.attempts.length - 1];
  const reason = last?.error ?? `The webhook endpoint answered HTTP ${String(last?.statusCode ?? 'none')}.`;
  const now = nowIso();
  const canRegard = registry.requireEntity('asyncoperation').attributes.get('regardingobjectid')?.targets?.some((target) => target.entity === webhook.regarding.entity);
  const firstAttempt = delivery.attempts[0]?.startedAt;
  store.insert('asyncoperation', randomUUID(), {
    name: delivery.label,
    operationtype: 1,
    messagename: webhook.messageName,
    primaryentitytype: webhook.regarding.entity,
    message: `Webhook delivery to ${delivery.url} failed: ${reason}`,
    friendlymessage: reason,
    errorcode: WEBHOOK_FAILURE_ERROR_CODE,
    correlationid: webhook.correlationId,
    owningextensionid: { id: webhook.stepId, logicalName: 'sdkmessageprocessingstep' },
    regardingobjectid: canRegard ? { id: webhook.regarding.id, logicalName: webhook.regarding.entity } : null,
    startedon: firstAttempt ? `${firstAttempt.slice(0, 19)}Z` : now,
    completedon: now,
    statecode: 3,
    statuscode: 31,
    createdon: now,
    modifiedon: now,
    versionnumber: store.nextVersion(),
  });
}
