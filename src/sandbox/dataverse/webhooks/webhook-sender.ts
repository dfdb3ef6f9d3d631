import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../util/logger.ts';
import { attemptOf, DeliveryTransport, describeFailure, type DeliveryFaultSource } from '../../shared/delivery-transport.ts';
import { DeliveryLog } from '../../shared/delivery-log.ts';

export interface OutgoingDataverseWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
  label: string;
  stepId: string;
  correlationId: string;
  /** What failed deliveries are recorded against (the System Job's regarding row). */
  regarding: { entity: string; id: string };
  messageName: string;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dropped';

export interface WebhookDeliveryAttempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

export interface WebhookDeliveryRecord {
  id: string;
  label: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  stepId: string;
  correlationId: string;
  status: WebhookDeliveryStatus;
  duplicate: boolean;
  createdAt: string;
  settledAt: string | null;
  attempts: WebhookDeliveryAttempt[];
}

export interface WebhookSenderOptions {
  timeoutMs: number;
  retryDelayMs: number;
  logger: Logger;
  faults?: DeliveryFaultSource;
  /**
   * Called once per delivery that finally failed, so the org can record a failed System Job ("Use webhooks to create
   * external handlers for server events").
   */
  onFailed?: (delivery: WebhookDeliveryRecord, webhook: OutgoingDataverseWebhook) => void;
  maxLogEntries?: number;
}

/**
 * "Use webhooks to create external handlers for server events": only 502, 503 and 504 are retried, exactly once; any
 * other non-2xx (or a timeout) fails the async job.
 */
const RETRYABLE = new Set([502, 503, 504]);
const MAX_ATTEMPTS = 2;

/**
 * Dataverse's webhook delivery. Not the shared WebhookDeliveryQueue: that one retries every failure with backoff and
 * parks exhausted deliveries in an offline queue (Partner Center's contract), while Dataverse retries only 502/503/504,
 * once, and records everything else as a failed System Job. The shared delivery faults (drop, duplicate, delay,
 * reorder) are honoured through the same FaultInjector.
 */
export class DataverseWebhookSender {
  /** What was sent and how it went (`GET /_sandbox/webhooks/deliveries`). */
  readonly deliveries: DeliveryLog<{ record: WebhookDeliveryRecord; webhook: OutgoingDataverseWebhook }, WebhookDeliveryRecord>;
  private readonly transport: DeliveryTransport<string>;

  constructor(private readonly options: WebhookSenderOptions) {
    this.deliveries = new DeliveryLog((entry) => entry.record, options.maxLogEntries ?? 5_000);
    this.transport = new DeliveryTransport((id) => this.attempt(id), options.faults);
  }

  send(webhook: OutgoingDataverseWebhook): string {
    const { faults, roll } = this.transport.rollFaults();
    const original = this.createRecord(webhook, false);
    if (faults && roll(faults.dropRate)) {
      original.status = 'dropped';
      original.settledAt = new Date().toISOString();
      return original.id;
    }
    const ids = [original.id];
    if (faults && roll(faults.duplicateRate)) ids.push(this.createRecord(webhook, true).id);
    for (const id of ids) this.transport.start(id, faults);
    return original.id;
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  private createRecord(webhook: OutgoingDataverseWebhook, duplicate: boolean): WebhookDeliveryRecord {
    const record: WebhookDeliveryRecord = {
      id: randomUUID(),
      label: webhook.label,
      url: webhook.url,
      headers: { ...webhook.headers },
      body: webhook.body,
      stepId: webhook.stepId,
      correlationId: webhook.correlationId,
      status: 'pending',
      duplicate,
      createdAt: new Date().toISOString(),
      settledAt: null,
      attempts: [],
    };
    this.deliveries.add({ record, webhook });
    return record;
  }

  private async attempt(id: string): Promise<void> {
    const entry = this.deliveries.get(id);
    if (!entry || this.transport.closed) return;
    const { record, webhook } = entry;
    // Only the status is read ("Use webhooks to create external handlers for server events").
    const sent = await this.transport.post(record.url, { headers: record.headers, body: record.body, timeoutMs: this.options.timeoutMs });
    if (this.transport.closed) return;
    const attempt: WebhookDeliveryAttempt = { ...attemptOf(record.attempts.length + 1, sent), error: describeFailure(sent.failure, this.options.timeoutMs) };
    record.attempts.push(attempt);
    const status = attempt.statusCode;
    if (status !== null && status >= 200 && status < 300) {
      record.status = 'delivered';
      record.settledAt = new Date().toISOString();
      return;
    }
    if (status !== null && RETRYABLE.has(status) && record.attempts.length < MAX_ATTEMPTS) {
      this.transport.schedule(id, this.options.retryDelayMs);
      return;
    }
    record.status = 'failed';
    record.settledAt = new Date().toISOString();
    this.options.logger.warn({ delivery: record.id, url: record.url, statusCode: status, error: attempt.error }, 'Dataverse webhook delivery failed');
    this.options.onFailed?.(structuredClone(record), webhook);
  }
}
