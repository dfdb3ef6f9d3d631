import { randomBytes } from 'node:crypto';
import { isPlainObject, type JsonObject } from '../../shared/deep-merge.ts';
import type { ObjectRegistry } from '../schema/object-model.ts';
import type { ChangeEventLog, RetainedEvent } from './event-log.ts';

export interface BayeuxOptions {
  /** How long a `/meta/connect` is held open when nothing is waiting (Salesforce advises 110 s). */
  longPollMs: number;
  /** A client that has not connected for this long after its last poll is forgotten (CometD maxInterval). */
  maxIntervalMs: number;
}

export const DEFAULT_BAYEUX_OPTIONS: BayeuxOptions = { longPollMs: 110_000, maxIntervalMs: 30_000 };

/** Resolves the bearer token of each request to a user id, or undefined when the session is not valid. */
export type SessionCheck = (authorization: string | undefined) => string | undefined;

interface Delivery {
  channel: string;
  data: RetainedEvent['data'];
}

interface Client {
  id: string;
  userId: string;
  subscriptions: Set<string>;
  queue: Delivery[];
  wake: (() => void) | undefined;
  lastSeenAt: number;
}

const ALL_CHANGES = '/data/ChangeEvents';

const replayError = (replayId: unknown): string =>
  `400::The replayId {${String(replayId)}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`;

function replyBase(message: JsonObject): JsonObject {
  return { channel: message.channel, ...(message.id !== undefined ? { id: message.id } : {}) };
}

/**
 * A Bayeux (CometD) server for the Streaming API's Change Data Capture channels (Change Data Capture Developer Guide):
 * handshake, long-poll connect, subscribe/unsubscribe with the replay extension, disconnect. Long-polling only, which
 * is what the handshake advertises and what jsforce's faye client selects.
 */
export class BayeuxServer {
  private readonly clients = new Map<string, Client>();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly stopListening: () => void;
  private closed = false;

  constructor(
    private readonly log: ChangeEventLog,
    private readonly registry: ObjectRegistry,
    private readonly checkSession: SessionCheck,
    private readonly options: BayeuxOptions = DEFAULT_BAYEUX_OPTIONS,
  ) {
    this.stopListening = log.onEvent((event) => this.fanOut(event));
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(options.maxIntervalMs, 10_000));
    this.sweepTimer.unref();
  }

  /** Handles one HTTP POST (a batch of messages); resolves with the replies once any held connect returns. */
  async handle(body: unknown, authorization: string | undefined, aborted: AbortSignal): Promise<JsonObject[]> {
    const messages = (Array.isArray(body) ? body : [body]).filter(isPlainObject);
    const userId = this.checkSession(authorization);
    const replies: JsonObject[] = [];
    let connect: { message: JsonObject; client: Client } | undefined;
    for (const message of messages) {
      const channel = typeof message.channel === 'string' ? message.channel : '';
      if (channel === '/meta/handshake') {
        replies.push(this.handshake(message, userId));
        continue;
      }
      const client = typeof message.clientId === 'string' ? this.clients.get(message.clientId) : undefined;
      if (!client || userId === undefined || client.userId !== userId) {
        // An unknown client, or a session that ended since the handshake: start over (a fresh handshake re-checks auth).
        if (client) this.drop(client);
        replies.push({ ...replyBase(message), successful: false, error: '403::Unknown client', advice: { reconnect: 'handshake', interval: 0 } });
        continue;
      }
      client.lastSeenAt = Date.now();
      if (channel === '/meta/connect') connect = { message, client };
      else if (channel === '/meta/subscribe') replies.push(this.subscribe(message, client));
      else if (channel === '/meta/unsubscribe') replies.push(this.unsubscribe(message, client));
      else if (channel === '/meta/disconnect') {
        this.drop(client);
        replies.push({ ...replyBase(message), clientId: client.id, successful: true });
      } else replies.push({ ...replyBase(message), clientId: client.id, successful: false, error: '403::Publish denied' });
    }
    if (!connect) return replies;
    const deliveries = await this.waitForDeliveries(connect.client, connect.message, aborted);
    const connectReply: JsonObject = {
      ...replyBase(connect.message),
      clientId: connect.client.id,
      successful: this.clients.has(connect.client.id),
      advice: this.closed ? { reconnect: 'none', interval: 0 } : { interval: 0, timeout: this.options.longPollMs, reconnect: 'retry' },
    };
    return [...replies, ...deliveries, connectReply];
  }

  /** Ends every held long poll (the sandbox is shutting down). */
  close(): void {
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.stopListening();
    for (const client of this.clients.values()) client.wake?.();
    this.clients.clear();
  }

  clientCount(): number {
    return this.clients.size;
  }

  private handshake(message: JsonObject, userId: string | undefined): JsonObject {
    if (userId === undefined) {
      // The shape jsforce's AuthFailure extension documents for an invalid session.
      return {
        ...replyBase(message),
        successful: false,
        error: '403::Handshake denied',
        advice: { reconnect: 'none' },
        ext: { sfdc: { failureReason: '401::Authentication invalid' }, replay: true },
      };
    }
    const types = Array.isArray(message.supportedConnectionTypes) ? message.supportedConnectionTypes : [];
    if (!types.includes('long-polling')) {
      return { ...replyBase(message), successful: false, error: '400::The sandbox supports only long-polling', supportedConnectionTypes: ['long-polling'] };
    }
    const client: Client = { id: randomBytes(18).toString('base64url'), userId, subscriptions: new Set(), queue: [], wake: undefined, lastSeenAt: Date.now() };
    this.clients.set(client.id, client);
    return {
      ...replyBase(message),
      version: '1.0',
      minimumVersion: '1.0',
      clientId: client.id,
      supportedConnectionTypes: ['long-polling'],
      advice: { interval: 0, timeout: this.options.longPollMs, reconnect: 'retry' },
      ext: { replay: true, 'payload.format': true },
      successful: true,
    };
  }

  private channelEntity(channel: string): string | undefined {
    if (channel === ALL_CHANGES) return '*';
    const match = /^\/data\/([A-Za-z0-9_]+)ChangeEvent$/.exec(channel);
    const type = match ? this.registry.get(match[1] ?? '') : undefined;
    // Channel names are case-sensitive in CometD; only the object's exact API name forms a channel.
    return type?.capabilities.changeEvents && type.name === match?.[1] ? type.name : undefined;
  }

  private subscribe(message: JsonObject, client: Client): JsonObject {
    const channel = typeof message.subscription === 'string' ? message.subscription : '';
    const base = { ...replyBase(message), clientId: client.id, subscription: channel };
    const entity = this.channelEntity(channel);
    if (!entity) {
      // UNCONFIRMED wording; the 400:: prefix and naming the channel are what clients log.
      return { ...base, successful: false, error: `400::The channel you requested to subscribe to does not exist {${channel}}` };
    }
    const replayMap = isPlainObject(message.ext) && isPlainObject(message.ext.replay) ? message.ext.replay : {};
    const requested = replayMap[channel];
    const replayFrom = requested === undefined || requested === null ? -1 : Number(requested);
    if (!Number.isInteger(replayFrom) || replayFrom < -2 || (replayFrom >= 0 && !this.log.canReplayAfter(replayFrom))) {
      return { ...base, successful: false, error: replayError(requested) };
    }
    client.subscriptions.add(channel);
    if (replayFrom !== -1) {
      for (const event of this.log.after(replayFrom)) if (entity === '*' || entity === event.entityName) client.queue.push({ channel, data: event.data });
      if (client.queue.length > 0) client.wake?.();
    }
    return { ...base, successful: true };
  }

  private unsubscribe(message: JsonObject, client: Client): JsonObject {
    const channel = typeof message.subscription === 'string' ? message.subscription : '';
    client.subscriptions.delete(channel);
    client.queue = client.queue.filter((delivery) => delivery.channel !== channel);
    return { ...replyBase(message), clientId: client.id, subscription: channel, successful: true };
  }

  private fanOut(event: RetainedEvent): void {
    for (const client of this.clients.values()) {
      let queued = false;
      for (const channel of client.subscriptions) {
        const entity = this.channelEntity(channel);
        if (entity !== '*' && entity !== event.entityName) continue;
        client.queue.push({ channel, data: event.data });
        queued = true;
      }
      if (queued) client.wake?.();
    }
  }

  /**
   * Holds the connect until something is queued, the poll times out, the client asked for an immediate answer
   * (`advice.timeout: 0`, which faye sends when batching a connect with other messages), or the caller went away.
   */
  private async waitForDeliveries(client: Client, message: JsonObject, aborted: AbortSignal): Promise<JsonObject[]> {
    const asked = isPlainObject(message.advice) && typeof message.advice.timeout === 'number' ? message.advice.timeout : undefined;
    const holdMs = Math.min(asked ?? this.options.longPollMs, this.options.longPollMs);
    // A newer connect from the same client releases the older one, as CometD servers do.
    client.wake?.();
    if (client.queue.length === 0 && holdMs > 0 && !this.closed && !aborted.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          aborted.removeEventListener('abort', done);
          if (client.wake === done) client.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, holdMs);
        aborted.addEventListener('abort', done);
        client.wake = done;
      });
    }
    client.lastSeenAt = Date.now();
    // Events stay queued if nobody is listening any more, so a reconnect still gets them.
    if (aborted.aborted) return [];
    const deliveries = client.queue;
    client.queue = [];
    return deliveries.map((delivery) => ({ channel: delivery.channel, data: delivery.data }));
  }

  private drop(client: Client): void {
    this.clients.delete(client.id);
    client.wake?.();
  }

  private sweep(): void {
    const cutoff = Date.now() - this.options.maxIntervalMs;
    for (const client of this.clients.values()) if (!client.wake && client.lastSeenAt < cutoff) this.clients.delete(client.id);
  }
}
