import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../util/logger.ts';
import { attemptOf, DeliveryTransport, describeFailure, type DeliveryFaultSource } from '../../shared/delivery-transport.ts';
import { DeliveryLog } from '../../shared/delivery-log.ts';
import type { RecordChange } from '../data/record-changes.ts';
import type { RecordStore } from '../data/record-store.ts';
import { type IdGenerator, KEY_PREFIX } from '../ids.ts';
import type { ObjectRegistry } from '../schema/object-model.ts';
import type { OutboundMessageDefinition } from './outbound-definitions.ts';
import { buildNotificationsEnvelope, isAcknowledged, type SoapNotification } from './soap-notification.ts';

export interface OutboundRetryPolicy {
  initialDelayMs: number;
  /** SOAP API "Outbound Messaging": back-off grows up to 2 h between tries. */
  maxDelayMs: number;
  /** SOAP API "Outbound Messaging": messages are dropped 24 h after they were queued. */
  giveUpAfterMs: number;
  /** Help: 60 s per attempt. */
  timeoutMs: number;
}

export const DEFAULT_OUTBOUND_RETRY: OutboundRetryPolicy = {
  // The first retry interval is not documented; 15 s keeps a sandbox demo lively without hammering a broken endpoint.
  initialDelayMs: 15_000,
  maxDelayMs: 2 * 60 * 60 * 1000,
  giveUpAfterMs: 24 * 60 * 60 * 1000,
  timeoutMs: 60_000,
};

/** Up to 100 notifications share one SOAP message (SOAP API "Outbound Messaging"). */
const MAX_NOTIFICATIONS_PER_MESSAGE = 100;
const MAX_STORED_RESPONSE_CHARS = 2048;
const MAX_LOG_ENTRIES = 5_000;

export interface OutboundAttempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  acknowledged: boolean;
  error: string | null;
  responseBody: string | null;
}

export interface OutboundDelivery {
  id: string;
  actionId: string;
  name: string;
  url: string;
  sobject: string;
  notificationIds: string[];
  recordIds: string[];
  status: 'pending' | 'delivered' | 'dropped';
  duplicate: boolean;
  createdAt: string;
  settledAt: string | null;
  nextAttemptAt: string | null;
  /** The envelope of the latest attempt (rebuilt per attempt, so it carries the record's latest data). */
  lastRequestBody: string | null;
  attempts: OutboundAttempt[];
}

export interface OutboundEnvironment {
  organizationId: string;
  apiVersion: string;
  baseUrl: () => string;
  /** A session id for messages that ask for one (SOAP API "Outbound Messaging", option "Send Session ID"). */
  issueSessionId: () => string;
}

interface PendingNotification {
  id: string;
  recordId: string;
}

interface Queued {
  delivery: OutboundDelivery;
  definition: OutboundMessageDefinition;
  notifications: PendingNotification[];
}

/**
 * Outbound Messages (SOAP API "Outbound Messaging"): definitions set up through the control API; matching
 * creates/updates queue SOAP `notifications` that are POSTed until the endpoint answers with `<Ack>true</Ack>`, with
 * exponential back-off, and dropped after the give-up age. Each attempt sends the record's current data, as Salesforce
 * does.
 */
export class OutboundMessaging {
  private readonly definitions = new Map<string, OutboundMessageDefinition>();
  /** What was sent and how it went (`GET /_sandbox/outbound-messages/deliveries`). */
  readonly queue = new DeliveryLog<Queued, OutboundDelivery>((queued) => queued.delivery, MAX_LOG_ENTRIES);
  private readonly transport: DeliveryTransport<Queued>;

  constructor(
    private readonly registry: ObjectRegistry,
    private readonly store: RecordStore,
    private readonly ids: IdGenerator,
    private readonly environment: OutboundEnvironment,
    readonly policy: OutboundRetryPolicy,
    private readonly logger: Logger,
    faults?: DeliveryFaultSource,
  ) {
    this.transport = new DeliveryTransport((queued) => this.attempt(queued), faults);
  }

  define(definition: OutboundMessageDefinition): void {
    this.definitions.set(definition.id, definition);
  }

  list(): OutboundMessageDefinition[] {
    return [...this.definitions.values()].map((definition) => structuredClone(definition));
  }

  remove(id: string): boolean {
    return this.definitions.delete(id);
  }

  clearDefinitions(): void {
    this.definitions.clear();
  }

  /** Evaluates the committed changes of one transaction against every active definition. */
  onChanges(changes: readonly RecordChange[]): void {
    if (this.transport.closed) return;
    for (const definition of this.definitions.values()) {
      if (!definition.active) continue;
      const matching = changes.filter((change) => this.fires(definition, change));
      // One notification per record per transaction; only the latest data is sent anyway.
      const recordIds = [...new Set(matching.map((change) => change.recordId))];
      for (let start = 0; start < recordIds.length; start += MAX_NOTIFICATIONS_PER_MESSAGE) {
        const batch = recordIds.slice(start, start + MAX_NOTIFICATIONS_PER_MESSAGE).map((recordId) => ({ id: this.ids.next(KEY_PREFIX.OutboundNotification), recordId }));
        this.enqueue(definition, batch);
      }
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  private fires(definition: OutboundMessageDefinition, change: RecordChange): boolean {
    if (change.sobject !== definition.sobject) return false;
    if (change.changeType === 'CREATE') return true;
    if (change.changeType !== 'UPDATE' || definition.trigger !== 'createOrUpdate') return false;
    return definition.triggerFields === null || definition.triggerFields.some((field) => change.changedFields.includes(field));
  }

  private enqueue(definition: OutboundMessageDefinition, notifications: PendingNotification[]): void {
    const { faults, roll } = this.transport.rollFaults();
    const copies = faults && roll(faults.duplicateRate) ? [false, true] : [false];
    for (const duplicate of copies) {
      const delivery: OutboundDelivery = {
        id: randomUUID(),
        actionId: definition.id,
        name: definition.name,
        url: definition.endpointUrl,
        sobject: definition.sobject,
        notificationIds: notifications.map((n) => n.id),
        recordIds: notifications.map((n) => n.recordId),
        status: 'pending',
        duplicate,
        createdAt: new Date().toISOString(),
        settledAt: null,
        nextAttemptAt: null,
        lastRequestBody: null,
        attempts: [],
      };
      const queued: Queued = { delivery, definition, notifications };
      this.queue.add(queued);
      if (!duplicate && faults && roll(faults.dropRate)) {
        this.settle(queued, 'dropped');
        continue;
      }
      this.schedule(queued, faults?.delayMs ?? 0);
    }
  }

  private schedule(queued: Queued, delayMs: number): void {
    if (this.transport.closed) return;
    queued.delivery.nextAttemptAt = new Date(Date.now() + delayMs).toISOString();
    this.transport.schedule(queued, delayMs);
  }

  private envelope(queued: Queued): string {
    const { definition } = queued;
    const type = this.registry.get(definition.sobject);
    const base = this.environment.baseUrl();
    const org15 = this.environment.organizationId.slice(0, 15);
    const notifications: SoapNotification[] = queued.notifications.map((notification) => {
      const record = this.store.get(definition.sobject, notification.recordId);
      const fields = definition.fields.flatMap((name) => {
        const field = type?.field(name);
        return field ? [{ field, value: record?.values[field.name] ?? null }] : [];
      });
      return { id: notification.id, sobjectType: definition.sobject, fields };
    });
    return buildNotificationsEnvelope({
      organizationId: this.environment.organizationId,
      actionId: definition.id,
      sessionId: definition.includeSessionId ? this.environment.issueSessionId() : null,
      enterpriseUrl: `${base}/services/Soap/c/${this.environment.apiVersion}/${org15}`,
      partnerUrl: `${base}/services/Soap/u/${this.environment.apiVersion}/${org15}`,
      notifications,
    });
  }

  private async attempt(queued: Queued): Promise<void> {
    if (this.transport.closed) return;
    const { delivery } = queued;
    const body = this.envelope(queued);
    delivery.lastRequestBody = body;
    const headers = { 'content-type': 'text/xml; charset=utf-8', soapaction: '""', 'user-agent': 'Salesforce OutboundMessaging (cosell-sync sandbox)' };
    const sent = await this.transport.post(delivery.url, { headers, body, timeoutMs: this.policy.timeoutMs });
    if (this.transport.closed) return;
    const { statusCode } = sent;
    const answered = statusCode !== null && sent.failure === null;
    const attempt: OutboundAttempt = {
      ...attemptOf(delivery.attempts.length + 1, sent),
      acknowledged: answered && statusCode >= 200 && statusCode < 300 && isAcknowledged(sent.body),
      error: describeFailure(sent.failure, this.policy.timeoutMs),
      responseBody: answered ? sent.body.slice(0, MAX_STORED_RESPONSE_CHARS) : null,
    };
    delivery.attempts.push(attempt);
    delivery.nextAttemptAt = null;
    if (attempt.acknowledged) {
      this.settle(queued, 'delivered');
      return;
    }
    const age = Date.now() - Date.parse(delivery.createdAt);
    const delay = Math.min(this.policy.initialDelayMs * 2 ** (delivery.attempts.length - 1), this.policy.maxDelayMs);
    if (age + delay > this.policy.giveUpAfterMs) {
      // The endpoint URL carries the receiver's secret (path or query): only its origin is logged.
      this.logger.warn({ delivery: delivery.id, endpoint: new URL(delivery.url).origin, attempts: delivery.attempts.length }, 'outbound message dropped after the retry window');
      this.settle(queued, 'dropped');
      return;
    }
    this.schedule(queued, delay);
  }

  private settle(queued: Queued, status: 'delivered' | 'dropped'): void {
    queued.delivery.status = status;
    queued.delivery.settledAt = new Date().toISOString();
  }
}
