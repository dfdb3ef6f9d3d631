import { randomUUID } from 'node:crypto';
import type { Logger } from '../../util/logger.ts';
import { silentLogger } from '../../util/logger.ts';
import { attemptOf, DeliveryTransport, type DeliveryFaultSource, type PostOutcome } from './delivery-transport.ts';
import { DeliveryLog } from './delivery-log.ts';

export type { DeliveryFaultSource } from './delivery-transport.ts';

export interface DeliveryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

export interface DeliveryQueueOptions extends Partial<DeliveryPolicy> {
  logger?: Logger;
  faults?: DeliveryFaultSource;
  /** Settled records beyond this many are forgotten, oldest first, so a long-running sandbox does not grow forever. */
  maxLogEntries?: number;
}

export interface OutgoingWebhook {
  url: string;
  headers: Record<string, string>;
  body: string | Buffer;
  /** What the delivery is, for the log (an event name, a notification type). */
  label: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'offline' | 'dropped';

export interface DeliveryAttempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  /** null when no HTTP response arrived (connection refused, timeout). */
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
}

export interface DeliveryRecord {
  id: string;
  label: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  status: DeliveryStatus;
  createdAt: string;
  settledAt: string | null;
  nextAttemptAt: string | null;
  /** True for the extra copy a `duplicateRate` fault produced. */
  duplicate: boolean;
  attempts: DeliveryAttempt[];
}

interface QueuedDelivery {
  record: DeliveryRecord;
  rawBody: string | Buffer;
  /** Attempts since the last (re)delivery began; the record keeps the full history. */
  cycleAttempts: number;
}

/** Documented by Partner Center: 10 attempts, then the offline queue. Spacing and timeout are not documented. */
export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 10,
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  timeoutMs: 10_000,
};

const MAX_STORED_RESPONSE_CHARS = 1024;

/**
 * At-least-once webhook sender with exponential backoff, per-attempt timeout, an offline queue after the last
 * attempt, injectable delivery faults and a delivery log. Transport-agnostic: the caller supplies URL, headers and
 * the exact body bytes (which it has usually signed).
 */
export class WebhookDeliveryQueue {
  readonly policy: DeliveryPolicy;
  private readonly logger: Logger;
  private readonly deliveries: DeliveryLog<QueuedDelivery, DeliveryRecord>;
  private readonly transport: DeliveryTransport<QueuedDelivery>;

  constructor(options: DeliveryQueueOptions = {}) {
    this.policy = {
      maxAttempts: options.maxAttempts ?? DEFAULT_DELIVERY_POLICY.maxAttempts,
      initialDelayMs: options.initialDelayMs ?? DEFAULT_DELIVERY_POLICY.initialDelayMs,
      maxDelayMs: options.maxDelayMs ?? DEFAULT_DELIVERY_POLICY.maxDelayMs,
      timeoutMs: options.timeoutMs ?? DEFAULT_DELIVERY_POLICY.timeoutMs,
    };
    if (this.policy.maxAttempts < 1) throw new Error('delivery maxAttempts must be at least 1');
    this.logger = options.logger ?? silentLogger();
    this.transport = new DeliveryTransport((delivery) => this.attempt(delivery), options.faults);
    this.deliveries = new DeliveryLog((delivery) => delivery.record, options.maxLogEntries ?? 5_000);
  }

  /** Queues one webhook; returns the id of its log record (the original, when a duplicate is also produced). */
  enqueue(webhook: OutgoingWebhook): string {
    const { faults, roll } = this.transport.rollFaults();
    if (faults && roll(faults.dropRate)) {
      const dropped = this.createRecord(webhook, false);
      dropped.record.status = 'dropped';
      dropped.record.settledAt = new Date().toISOString();
      this.logger.debug({ delivery: dropped.record.id, label: webhook.label }, 'webhook dropped (injected fault)');
      return dropped.record.id;
    }
    const original = this.createRecord(webhook, false);
    const copies = [original];
    if (faults && roll(faults.duplicateRate)) copies.push(this.createRecord(webhook, true));
    for (const delivery of copies) {
      if (faults?.reorder) this.transport.start(delivery, faults);
      else this.schedule(delivery, faults?.delayMs ?? 0);
    }
    return original.record.id;
  }

  get(id: string): DeliveryRecord | undefined {
    const delivery = this.deliveries.get(id);
    return delivery ? structuredClone(delivery.record) : undefined;
  }

  list(): DeliveryRecord[] {
    return this.deliveries.records();
  }

  offline(): DeliveryRecord[] {
    return this.list().filter((record) => record.status === 'offline');
  }

  /** Gives offline deliveries a fresh attempt budget; Partner Center has no such API, the sandbox offers it for drills. */
  redeliverOffline(): number {
    let count = 0;
    for (const delivery of this.deliveries.values()) {
      if (delivery.record.status !== 'offline') continue;
      delivery.record.status = 'pending';
      delivery.record.settledAt = null;
      delivery.cycleAttempts = 0;
      this.schedule(delivery, 0);
      count += 1;
    }
    return count;
  }

  /** Forgets settled deliveries; pending ones keep going. */
  clearLog(): void {
    this.deliveries.clear();
  }

  pendingCount(): number {
    return this.deliveries.pendingCount();
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  private createRecord(webhook: OutgoingWebhook, duplicate: boolean): QueuedDelivery {
    const record: DeliveryRecord = {
      id: randomUUID(),
      label: webhook.label,
      url: webhook.url,
      headers: { ...webhook.headers },
      body: typeof webhook.body === 'string' ? webhook.body : webhook.body.toString('utf8'),
      status: 'pending',
      createdAt: new Date().toISOString(),
      settledAt: null,
      nextAttemptAt: null,
      duplicate,
      attempts: [],
    };
    const delivery: QueuedDelivery = { record, rawBody: webhook.body, cycleAttempts: 0 };
    this.deliveries.add(delivery);
    return delivery;
  }

  private schedule(delivery: QueuedDelivery, delayMs: number): void {
    if (this.transport.closed) return;
    delivery.record.nextAttemptAt = new Date(Date.now() + delayMs).toISOString();
    this.transport.schedule(delivery, delayMs);
  }

  private backoffMs(failedAttemptsInCycle: number): number {
    const exponent = Math.max(0, failedAttemptsInCycle - 1);
    return Math.min(this.policy.initialDelayMs * 2 ** exponent, this.policy.maxDelayMs);
  }

  private async attempt(delivery: QueuedDelivery): Promise<void> {
    if (this.transport.closed) return;
    const { record } = delivery;
    delivery.cycleAttempts += 1;
    const sent = await this.transport.post(record.url, { headers: record.headers, body: delivery.rawBody, timeoutMs: this.policy.timeoutMs });
    if (this.transport.closed) return;
    const attempt: DeliveryAttempt = {
      ...attemptOf(record.attempts.length + 1, sent),
      error: describeError(sent.failure, this.policy.timeoutMs),
      responseBody: sent.statusCode === null ? null : sent.body.slice(0, MAX_STORED_RESPONSE_CHARS),
    };
    record.attempts.push(attempt);
    record.nextAttemptAt = null;

    const succeeded = attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
    if (succeeded) {
      record.status = 'delivered';
      record.settledAt = new Date().toISOString();
      return;
    }
    if (delivery.cycleAttempts >= this.policy.maxAttempts) {
      record.status = 'offline';
      record.settledAt = new Date().toISOString();
      this.logger.warn({ delivery: record.id, label: record.label, url: record.url, attempts: record.attempts.length }, 'webhook moved to the offline queue');
      return;
    }
    this.schedule(delivery, this.backoffMs(delivery.cycleAttempts));
  }
}

/** The timeout, or the error with its system code (ECONNREFUSED …) where it has one. */
function describeError(failure: PostOutcome['failure'], timeoutMs: number): string | null {
  if (!failure) return null;
  if (failure.timedOut) return `timed out after ${timeoutMs} ms`;
  const { error } = failure;
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    const code = (error as NodeJS.ErrnoException).code ?? (cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined);
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
