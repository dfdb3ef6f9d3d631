import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type { Logger } from '../../../util/logger.ts';
import type { DeliveryFaultSource } from '../../shared/webhook-delivery-queue.ts';

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
const REORDER_WINDOW_MS = 100;

/**
 * Dataverse's webhook delivery. Not the shared WebhookDeliveryQueue: that one retries every failure with backoff and
 * parks exhausted deliveries in an offline queue (Partner Center's contract), while Dataverse retries only 502/503/504,
 * once, and records everything else as a failed System Job. The shared delivery faults (drop, duplicate, delay,
 * reorder) are honoured through the same FaultInjector.
 */
export class DataverseWebhookSender {
  private readonly deliveries = new Map<string, { record: WebhookDeliveryRecord; webhook: OutgoingDataverseWebhook }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly agent = new Agent({ keepAliveTimeout: 4_000 });
  private readonly shutdown = new AbortController();
  private reorderBuffer: string[] = [];
  private reorderTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: WebhookSenderOptions) {}

  send(webhook: OutgoingDataverseWebhook): string {
    const faults = this.options.faults?.deliveryFaults();
    const roll = (rate: number): boolean => rate > 0 && this.options.faults !== undefined && this.options.faults.random() < rate;
    const original = this.createRecord(webhook, false);
    if (faults && roll(faults.dropRate)) {
      original.status = 'dropped';
      original.settledAt = new Date().toISOString();
      return original.id;
    }
    const ids = [original.id];
    if (faults && roll(faults.duplicateRate)) ids.push(this.createRecord(webhook, true).id);
    for (const id of ids) {
      if (faults?.reorder) this.holdForReorder(id, faults.delayMs);
      else this.schedule(id, faults?.delayMs ?? 0);
    }
    this.trimLog();
    return original.id;
  }

  list(): WebhookDeliveryRecord[] {
    return [...this.deliveries.values()].map(({ record }) => structuredClone(record));
  }

  pendingCount(): number {
    return this.list().filter((record) => record.status === 'pending').length;
  }

  clearLog(): void {
    for (const [id, { record }] of this.deliveries) if (record.status !== 'pending') this.deliveries.delete(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.reorderTimer) clearTimeout(this.reorderTimer);
    this.shutdown.abort();
    await this.agent.destroy().catch(() => undefined);
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
    this.deliveries.set(record.id, { record, webhook });
    return record;
  }

  private schedule(id: string, delayMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(id);
    }, delayMs);
    this.timers.add(timer);
  }

  private holdForReorder(id: string, windowMs: number): void {
    this.reorderBuffer.push(id);
    if (this.reorderTimer) return;
    this.reorderTimer = setTimeout(() => {
      this.reorderTimer = undefined;
      const batch = this.reorderBuffer.reverse();
      this.reorderBuffer = [];
      void (async () => {
        for (const held of batch) await this.attempt(held);
      })();
    }, windowMs > 0 ? windowMs : REORDER_WINDOW_MS);
  }

  private async attempt(id: string): Promise<void> {
    const entry = this.deliveries.get(id);
    if (!entry || this.closed) return;
    const { record, webhook } = entry;
    const started = Date.now();
    const attempt: WebhookDeliveryAttempt = { attempt: record.attempts.length + 1, startedAt: new Date(started).toISOString(), durationMs: 0, statusCode: null, error: null };
    try {
      const response = await request(record.url, {
        method: 'POST',
        headers: record.headers,
        body: record.body,
        dispatcher: this.agent,
        signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      attempt.statusCode = response.statusCode;
      // Only the status is read ("Use webhooks to create external handlers for server events"); the body is drained so
      // the connection can be reused.
      await response.body.dump();
    } catch (error) {
      attempt.error = error instanceof Error && error.name === 'TimeoutError' ? `timed out after ${this.options.timeoutMs} ms` : error instanceof Error ? error.message : String(error);
    }
    if (this.closed) return;
    attempt.durationMs = Date.now() - started;
    record.attempts.push(attempt);
    const status = attempt.statusCode;
    if (status !== null && status >= 200 && status < 300) {
      record.status = 'delivered';
      record.settledAt = new Date().toISOString();
      return;
    }
    if (status !== null && RETRYABLE.has(status) && record.attempts.length < MAX_ATTEMPTS) {
      this.schedule(id, this.options.retryDelayMs);
      return;
    }
    record.status = 'failed';
    record.settledAt = new Date().toISOString();
    this.options.logger.warn({ delivery: record.id, url: record.url, statusCode: status, error: attempt.error }, 'Dataverse webhook delivery failed');
    this.options.onFailed?.(structuredClone(record), webhook);
  }

  private trimLog(): void {
    const max = this.options.maxLogEntries ?? 5_000;
    for (const [id, { record }] of this.deliveries) {
      if (this.deliveries.size <= max) break;
      if (record.status !== 'pending') this.deliveries.delete(id);
    }
  }
}
