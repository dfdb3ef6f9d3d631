import type { Connection } from 'jsforce';
import { Client, StreamingExtension, type Subscription } from 'jsforce/lib/api/streaming.js';
import { z } from 'zod';
import type { ChangeSink, CrmEntityName, CrmRecordRef } from '../connector.ts';
import { proxyUrlFor } from '../../http/outbound.ts';
import type { Logger } from '../../util/logger.ts';
import { cdcNotification, contactRoleNotification } from './cdc-changes.ts';
import { idWithPrefix } from './ids.ts';
import { contactRoleOpportunity } from './contact-roles.ts';
import { entityOfSObject, sobjectFor } from './objects.ts';
import type { SalesforceClient } from './salesforce-client.ts';

/*
 * Change Data Capture over CometD (Change Data Capture Developer Guide) through a faye client set up as jsforce's
 * streaming client is (`createStreamingClient`), with jsforce's Replay extension. One faye client per channel: the
 * Replay extension writes the whole `ext.replay` map for its one channel, so two extensions on one client would
 * overwrite each other's entry. The client takes the outbound proxy decision of every other call (proxyUrlFor).
 *
 * Per event, in arrival order per channel: the refs of the changed records go to the sink together with the event's
 * replay id, and the replay id is only relied on once the sink has committed it — a restart resumes from the last
 * committed id (`sink.cursor(key)`; none → -1, new events only). Our own writes (changeOrigin naming our
 * `Sforce-Call-Options` client) still advance the replay id but enqueue nothing: no read, no job. Gap and overflow
 * events, and a replay id Salesforce no longer retains, mean events were lost: the sink is asked for a reconcile pass
 * (the SystemModstamp poll heals it), and an invalid replay id is replaced by -1.
 *
 * Failures: an auth failure (expired session; the faye client holds its own copy of the token) re-runs the grant and
 * resubscribes; a failed subscribe, a failing sink, or a transport that stays down longer than `transportGraceMs`
 * tear the client down and resubscribe from the last committed replay id with exponential backoff. faye itself retries
 * short transport hiccups.
 */

export interface ChangeStreamOptions {
  client: SalesforceClient;
  /** Connection name: the prefix of each cursor key (`<connection>:cdc:/data/OpportunityChangeEvent`). */
  connectionName: string;
  channels: readonly string[];
  logger: Logger;
  backoff?: { baseMs?: number; maxMs?: number };
  /** How long faye may retry a lost transport on its own before the client is rebuilt. Default 30 s. */
  transportGraceMs?: number;
  /** `startChangeStream` resolves after this even if a first subscribe is still trying (it keeps trying). Default 30 s. */
  initialSubscribeTimeoutMs?: number;
}

export const changeEventChannel = (sobject: string): string => `/data/${sobject}ChangeEvent`;
export const cdcCursorKey = (connection: string, channel: string): string => `${connection}:cdc:${channel}`;

const headerSchema = z.looseObject({
  entityName: z.string(),
  recordIds: z.array(z.string()).default([]),
  changeType: z.string(),
  changeOrigin: z.string().nullish(),
});
const eventSchema = z.looseObject({
  event: z.looseObject({ replayId: z.union([z.number(), z.string()]) }),
  payload: z.looseObject({ ChangeEventHeader: headerSchema }),
});

/** Whether changeOrigin (`com/salesforce/api/rest/62.0;client=cosell-sync`) names our client tag exactly. */
export function isOwnChange(changeOrigin: string | null | undefined, clientTag: string): boolean {
  if (!changeOrigin) return false;
  return changeOrigin.split(';').some((part) => {
    const match = /^\s*client=(.*)$/.exec(part);
    return match !== null && (match[1] ?? '').replace(/\/+$/, '').trim() === clientTag;
  });
}

/**
 * What jsforce's `conn.streaming.createClient(extensions)` builds (jsforce 3, lib/api/streaming.js `_createClient`):
 * the CometD endpoint of the API version, the session as `Authorization`, the extensions, and long-polling without
 * batching (jsforce: "prevent streaming API server error"). One difference: faye is told the proxy, or that
 * there is none. faye on its own reads `http_proxy` / `https_proxy` (and the upper-case spellings, with a console
 * warning) and ignores NO_PROXY; here the decision is proxyUrlFor's, under the same HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY rules as the undici dispatcher. `origin: null` (direct) needs patches/faye+1.4.3.patch: unpatched faye
 * treats a missing origin as "look in the environment".
 */
export function createStreamingClient(conn: Pick<Connection, 'instanceUrl' | 'version' | 'accessToken'>, extensions: readonly unknown[]): Client {
  const endpoint = `${conn.instanceUrl}/cometd/${conn.version}`;
  const client = new Client(endpoint, { proxy: { origin: proxyUrlFor(endpoint) ?? null } });
  client.setHeader('Authorization', `OAuth ${conn.accessToken ?? ''}`);
  for (const extension of extensions) client.addExtension(extension);
  const dispatcher = (client as unknown as { _dispatcher: FayeDispatcher })._dispatcher;
  if (!dispatcher.getConnectionTypes().includes('callback-polling')) {
    dispatcher.selectTransport('long-polling');
    dispatcher._transport.batching = false;
  }
  return client;
}

/** The parts of faye's (untyped, internal) dispatcher that jsforce's client set-up uses. */
interface FayeDispatcher {
  getConnectionTypes(): string[];
  selectTransport(type: string): void;
  _transport: { batching: boolean };
}

/** faye rejects with Bayeux error objects (`{ code, params, message }`) rather than Errors. */
function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

const isReplayInvalid = (message: string): boolean => /replay\s*id.*invalid|invalid.*replay/i.test(message);

/** Stops a faye client in any state: a connected one says goodbye; one still handshaking must not retry forever. */
function closeClient(client: Client): void {
  const faye = client as unknown as {
    _state?: number;
    CONNECTED?: number;
    DISCONNECTED?: number;
    _advice?: { reconnect?: string };
    _dispatcher?: { close?: () => void; _envelopes?: Map<unknown, { timer?: ReturnType<typeof setTimeout> | null }> };
    disconnect?: () => void;
  };
  // faye offers no public way to give up on a client; these are the fields its own retry loops check.
  const abandon = () => {
    if (faye._advice) faye._advice.reconnect = 'none';
    if (faye.DISCONNECTED !== undefined) faye._state = faye.DISCONNECTED;
    const dispatcher = faye._dispatcher;
    dispatcher?.close?.();
    // A message that failed (a disconnect to a Salesforce that is gone) is retried every few seconds forever, and
    // its timer alone would keep a stopping process alive.
    for (const envelope of dispatcher?._envelopes?.values() ?? []) if (envelope.timer) clearTimeout(envelope.timer);
    dispatcher?._envelopes?.clear();
  };
  if (faye._state !== undefined && faye._state === faye.CONNECTED) {
    // Polite first (Salesforce drops the subscriptions at once); given up on if it has not gone through shortly.
    faye.disconnect?.();
    setTimeout(abandon, 1_000).unref();
    return;
  }
  abandon();
}

class ChannelStream {
  private readonly key: string;
  private readonly entity: CrmEntityName | undefined;
  private faye: Client | undefined;
  private subscription: Subscription | undefined;
  /** Bumped whenever a client is torn down: callbacks of an older client are ignored. */
  private generation = 0;
  private chain: Promise<void> = Promise.resolve();
  /** The persisted resume point, read from the sink when the stream starts. */
  private lastCommitted: string | null = null;
  /**
   * Just before the first event this stream saw, when nothing was committed yet: a subscription started at -1 that
   * fails to record its first event must replay that event, not skip to "new only" again. Replaying from "id − 1"
   * relies on Salesforce accepting any retained replay id position (UNCONFIRMED; the sandbox does).
   */
  private firstSeenFloor: string | null = null;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private transportTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: ChangeStreamOptions,
    private readonly sink: ChangeSink,
    readonly channel: string,
  ) {
    this.key = cdcCursorKey(options.connectionName, channel);
    const match = /^\/data\/(\w+)ChangeEvent$/.exec(channel);
    this.entity = match ? entityOfSObject(match[1] ?? '') : undefined;
  }

  private get log(): Logger {
    return this.options.logger;
  }

  /**
   * Resolves once the first subscribe attempt settled (subscribed, or failed and a retry is scheduled) — or after
   * `initialSubscribeTimeoutMs`, so an unreachable streaming endpoint never holds up the service's start.
   */
  async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log.warn({ channel: this.channel }, 'Salesforce CDC subscription not confirmed yet; still trying in the background');
        resolve();
      }, this.options.initialSubscribeTimeoutMs ?? 30_000);
      timer.unref();
    });
    try {
      this.lastCommitted = await this.sink.cursor(this.key);
      await Promise.race([this.subscribe(this.resumePoint()), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.transportTimer);
    this.teardown();
    await this.chain;
  }

  private resumePoint(): number {
    const resumeAfter = this.lastCommitted ?? this.firstSeenFloor;
    if (resumeAfter === null) return -1;
    const replayId = Number(resumeAfter);
    if (Number.isInteger(replayId) && replayId >= 0) return replayId;
    this.log.warn({ channel: this.channel, cursor: resumeAfter }, 'unreadable CDC replay id; subscribing to new events only');
    this.sink.requestReconcile(`Salesforce CDC cursor for ${this.channel} was unreadable`);
    return -1;
  }

  private async subscribe(replayFrom: number): Promise<void> {
    if (this.stopped) return;
    this.teardown();
    const generation = this.generation;
    let abandon: (reason: string) => void = () => undefined;
    const abandoned = new Promise<string>((resolve) => {
      abandon = resolve;
    });
    try {
      await this.options.client.connect();
      const conn = this.options.client.conn;
      const faye = createStreamingClient(conn, [
        new StreamingExtension.Replay(this.channel, replayFrom),
        new StreamingExtension.AuthFailure(() => {
          if (generation !== this.generation) return;
          abandon('auth');
          void this.onAuthFailure();
        }),
      ]);
      this.faye = faye;
      this.watchTransport(faye, generation);
      const subscription = faye.subscribe(this.channel, (message: unknown) => this.onEvent(generation, message));
      this.subscription = subscription;
      // faye's then() swallows a failure unless an errback is given (its Deferrable defaults it to a no-op).
      const acknowledged = new Promise<string>((resolve, reject) => {
        subscription.then(
          () => resolve('subscribed'),
          (error: unknown) => reject(error instanceof Error ? error : new Error(describeFailure(error))),
        );
      });
      const outcome = await Promise.race([acknowledged, abandoned]);
      if (outcome === 'subscribed' && generation === this.generation) {
        this.log.info({ channel: this.channel, replayFrom }, 'subscribed to Salesforce change events');
      }
    } catch (error) {
      if (generation !== this.generation || this.stopped) return;
      const message = describeFailure(error);
      if (isReplayInvalid(message) && replayFrom !== -1) {
        this.log.warn({ channel: this.channel, replayFrom, error: message }, 'CDC replay id no longer retained: requesting a reconcile and subscribing to new events');
        this.sink.requestReconcile(`Salesforce CDC replay id ${replayFrom} on ${this.channel} is no longer available`);
        return this.subscribe(-1);
      }
      this.log.error({ channel: this.channel, error: message }, 'Salesforce CDC subscribe failed (is Change Data Capture enabled for this object?); retrying');
      this.scheduleRetry();
    }
  }

  private onEvent(generation: number, raw: unknown): void {
    if (generation !== this.generation || this.stopped) return;
    this.chain = this.chain.then(async () => {
      if (generation !== this.generation || this.stopped) return;
      try {
        await this.handle(raw);
      } catch (error) {
        if (generation !== this.generation) return;
        // Events after this one must not be committed ahead of it: drop this client and replay from the last commit.
        this.log.error({ channel: this.channel, error: error instanceof Error ? error.message : String(error) }, 'recording a change event failed; resubscribing from the last committed replay id');
        this.teardown();
        this.scheduleRetry();
      }
    });
  }

  private async handle(raw: unknown): Promise<void> {
    const parsed = eventSchema.safeParse(raw);
    if (!parsed.success) {
      this.log.warn({ channel: this.channel }, 'unreadable change event ignored');
      return;
    }
    const replayId = String(parsed.data.event.replayId);
    if (this.lastCommitted === null && this.firstSeenFloor === null && Number(replayId) > 0) this.firstSeenFloor = String(Number(replayId) - 1);
    const header = parsed.data.payload.ChangeEventHeader;
    const gap = header.changeType.startsWith('GAP_');
    if (gap) {
      this.log.warn({ channel: this.channel, changeType: header.changeType, replayId }, 'Salesforce CDC reported lost events: requesting a reconcile');
      this.sink.requestReconcile(`Salesforce CDC ${header.changeType} on ${this.channel}`);
    }
    const own = !gap && isOwnChange(header.changeOrigin, this.options.client.callOptionsClient);
    // Our own writes are not edits: they are neither synced nor kept as what a seller changed.
    const role = contactRoleOpportunity(header.entityName, parsed.data.payload);
    // A contact role's event names its opportunity (see contact-roles.ts), kept as a change of the deal's contacts (its
    // fields are not the opportunity's): the pair's sync merges the contacts although the opportunity did not change.
    if (role !== undefined) await this.sink.record(own || gap ? [] : role, this.key, replayId, own || gap || role.length === 0 ? undefined : contactRoleNotification(header.changeType, this.channel, replayId));
    else if (own || gap) await this.sink.record(own ? [] : this.refsOf(header), this.key, replayId);
    else await this.sink.record(this.refsOf(header), this.key, replayId, cdcNotification(parsed.data.payload, this.channel, replayId));
    this.lastCommitted = replayId;
    this.failures = 0;
  }

  private refsOf(header: z.output<typeof headerSchema>): CrmRecordRef[] {
    const entity = entityOfSObject(header.entityName) ?? this.entity;
    if (!entity) return [];
    const prefix = sobjectFor(entity).keyPrefix;
    const refs: CrmRecordRef[] = [];
    for (const raw of header.recordIds) {
      // Overflow and field-conversion events name wildcard ids (`001*`, `000000000000000AAA`), not records.
      const id = raw.includes('*') ? undefined : idWithPrefix(raw, prefix);
      if (id && !refs.some((ref) => ref.id === id)) refs.push({ entity, id });
    }
    return refs;
  }

  private async onAuthFailure(): Promise<void> {
    if (this.stopped) return;
    this.teardown();
    try {
      await this.options.client.refreshSession();
      this.log.info({ channel: this.channel }, 'Salesforce streaming session expired; resubscribing with a new session');
      void this.subscribe(this.resumePoint());
    } catch (error) {
      this.log.error({ channel: this.channel, error: error instanceof Error ? error.message : String(error) }, 'Salesforce re-authentication for streaming failed; retrying');
      this.scheduleRetry();
    }
  }

  private watchTransport(faye: Client, generation: number): void {
    const events = faye as unknown as { on?: (event: string, listener: () => void) => void };
    events.on?.('transport:down', () => {
      if (generation !== this.generation || this.transportTimer) return;
      this.log.warn({ channel: this.channel }, 'Salesforce streaming transport down; faye is retrying');
      this.transportTimer = setTimeout(() => {
        this.transportTimer = undefined;
        if (generation !== this.generation || this.stopped) return;
        this.log.warn({ channel: this.channel }, 'Salesforce streaming transport still down; rebuilding the client');
        this.teardown();
        this.scheduleRetry();
      }, this.options.transportGraceMs ?? 30_000);
      this.transportTimer.unref();
    });
    events.on?.('transport:up', () => {
      if (generation !== this.generation) return;
      clearTimeout(this.transportTimer);
      this.transportTimer = undefined;
    });
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.failures += 1;
    const base = this.options.backoff?.baseMs ?? 1_000;
    const max = this.options.backoff?.maxMs ?? 60_000;
    const step = Math.min(max, base * 2 ** (this.failures - 1));
    const delay = Math.round(step * (0.5 + Math.random() * 0.5));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // The chain may still be committing events of the old client; resume after what it committed.
      void this.chain.then(() => this.subscribe(this.resumePoint()));
    }, delay);
    this.retryTimer.unref();
  }

  private teardown(): void {
    this.generation += 1;
    clearTimeout(this.transportTimer);
    this.transportTimer = undefined;
    const faye = this.faye;
    const subscription = this.subscription;
    this.faye = undefined;
    this.subscription = undefined;
    if (!faye) return;
    try {
      subscription?.cancel();
      closeClient(faye);
    } catch (error) {
      this.log.debug({ channel: this.channel, error: error instanceof Error ? error.message : String(error) }, 'closing the streaming client failed');
    }
  }
}

/** Opens every channel; the returned function unsubscribes, disconnects and waits for in-flight commits. */
export async function startChangeStream(options: ChangeStreamOptions, sink: ChangeSink): Promise<() => Promise<void>> {
  const streams = options.channels.map((channel) => new ChannelStream(options, sink, channel));
  await Promise.all(streams.map((stream) => stream.start()));
  return async () => {
    await Promise.all(streams.map((stream) => stream.stop()));
  };
}
