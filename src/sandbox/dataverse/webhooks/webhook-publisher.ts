import { randomUUID } from 'node:crypto';
import type { RecordStore } from '../data/record-store.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import { parseAuthSettings } from './auth-value.ts';
import type { DataEvent } from './events.ts';
import { ExecutionContextBuilder, MAX_CONTEXT_BYTES, type ClosePrimaryEntityId } from './execution-context.ts';
import { matchSteps, type MatchedStep } from './step-matcher.ts';
import { serializeWcfJson } from './wcf-json.ts';
import type { DataverseWebhookSender } from './webhook-sender.ts';

const AUTH_WEBHOOK_KEY = 4;
const AUTH_HTTP_HEADER = 5;
const AUTH_HTTP_QUERY_STRING = 6;

/**
 * Turns committed data events into webhook deliveries for every matching step ("Use webhooks to create external
 * handlers for server events").
 */
export class WebhookPublisher {
  private readonly contexts: ExecutionContextBuilder;

  constructor(
    registry: MetadataRegistry,
    private readonly store: RecordStore,
    private readonly sender: DataverseWebhookSender,
    private readonly organizationHost: () => string,
  ) {
    this.contexts = new ExecutionContextBuilder(registry, store);
  }

  /** The shape of Win / Lose contexts from now on (see ClosePrimaryEntityId). */
  setClosePrimaryEntityId(shape: ClosePrimaryEntityId): void {
    this.contexts.closePrimaryEntityId = shape;
  }

  publish(events: DataEvent[]): void {
    for (const event of events) {
      for (const match of matchSteps(this.store, event)) this.deliver(event, match);
    }
  }

  private deliver(event: DataEvent, match: MatchedStep): void {
    let body = serializeWcfJson(this.contexts.build(event, match, { trimmed: false }));
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'x-ms-dynamics-organization': this.organizationHost(),
      'x-ms-dynamics-entity-name': event.entity,
      'x-ms-dynamics-request-name': event.message,
      'x-ms-correlation-request-id': event.correlationId,
      'x-request-id': randomUUID(),
    };
    if (Buffer.byteLength(body) > MAX_CONTEXT_BYTES) {
      body = serializeWcfJson(this.contexts.build(event, match, { trimmed: true }));
      headers['x-ms-dynamics-msg-size-exceeded'] = 'true';
    }
    const url = new URL(String(match.endpoint.values.url));
    const authType = match.endpoint.values.authtype;
    const authValue = typeof match.endpoint.values.authvalue === 'string' ? match.endpoint.values.authvalue : '';
    if (authType === AUTH_WEBHOOK_KEY && authValue !== '') url.searchParams.set('code', authValue);
    if (authType === AUTH_HTTP_QUERY_STRING) for (const [name, value] of parseAuthSettings(authValue)) url.searchParams.set(name, value);
    if (authType === AUTH_HTTP_HEADER) for (const [name, value] of parseAuthSettings(authValue)) headers[name] = value;
    this.sender.send({
      url: url.toString(),
      headers,
      body,
      label: `${event.message} ${event.entity}`,
      stepId: match.step.id,
      correlationId: event.correlationId,
      regarding: { entity: event.entity, id: event.id },
      messageName: event.message,
    });
  }
}
