import { Agent, request } from 'undici';
import type { DeliveryFaults } from './faults.ts';

/*
 * What the sandboxes' outgoing notifications share (Partner Center webhooks, Dataverse webhooks, Salesforce Outbound
 * Messages): POSTs on one keep-alive agent with a per-attempt timeout, attempts on timers, injected delivery faults,
 * and a close that cancels every timer and request in flight. Each sender keeps its own retry contract and log.
 */

/** What a sender knows about the world; a FaultInjector satisfies it, a test can pass a stub. */
export interface DeliveryFaultSource {
  deliveryFaults(): DeliveryFaults | undefined;
  random(): number;
}

export interface PostOutcome {
  startedAt: string;
  durationMs: number;
  /** null when no HTTP response arrived (connection refused, timeout). */
  statusCode: number | null;
  /** The response body, as text. */
  body: string;
  /** Why no response arrived; `timedOut` when the attempt's timeout ran out. */
  failure: { error: unknown; timedOut: boolean } | null;
}

const DEFAULT_REORDER_WINDOW_MS = 100;

export class DeliveryTransport<Item> {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly agent = new Agent({ keepAliveTimeout: 4_000 });
  private readonly shutdown = new AbortController();
  private reorderBuffer: Item[] = [];
  private reorderTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `attempt` makes one delivery attempt of an item; `faults` are the injected delivery faults, if any. */
  constructor(
    private readonly attempt: (item: Item) => Promise<void>,
    private readonly faults?: DeliveryFaultSource,
  ) {}

  get closed(): boolean {
    return this.stopped;
  }

  /** The delivery faults in force now, and a roll of the dice against one of their rates. */
  rollFaults(): { faults: DeliveryFaults | undefined; roll(rate: number): boolean } {
    const source = this.faults;
    return { faults: source?.deliveryFaults(), roll: (rate) => rate > 0 && source !== undefined && source.random() < rate };
  }

  /** Sends an item's first attempt as the faults say: held and reversed with others on `reorder`, else after `delayMs`. */
  start(item: Item, faults: DeliveryFaults | undefined): void {
    if (faults?.reorder) this.holdForReorder(item, faults.delayMs);
    else this.schedule(item, faults?.delayMs ?? 0);
  }

  schedule(item: Item, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(item);
    }, delayMs);
    this.timers.add(timer);
  }

  /**
   * Reordering holds deliveries for a window and then sends the newest first, one after another, so the receiver
   * observes a reversed order deterministically rather than by network luck.
   */
  private holdForReorder(item: Item, windowMs: number): void {
    this.reorderBuffer.push(item);
    if (this.reorderTimer) return;
    this.reorderTimer = setTimeout(() => {
      this.reorderTimer = undefined;
      const batch = this.reorderBuffer.reverse();
      this.reorderBuffer = [];
      void (async () => {
        for (const held of batch) await this.attempt(held);
      })();
    }, windowMs > 0 ? windowMs : DEFAULT_REORDER_WINDOW_MS);
  }

  async post(url: string, options: { headers: Record<string, string>; body: string | Buffer; timeoutMs: number }): Promise<PostOutcome> {
    const started = Date.now();
    const outcome: PostOutcome = { startedAt: new Date(started).toISOString(), durationMs: 0, statusCode: null, body: '', failure: null };
    try {
      const response = await request(url, {
        method: 'POST',
        headers: options.headers,
        body: options.body,
        dispatcher: this.agent,
        signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      outcome.statusCode = response.statusCode;
      // Read whole, so the connection can be reused.
      outcome.body = await response.body.text();
    } catch (error) {
      outcome.failure = { error, timedOut: error instanceof Error && error.name === 'TimeoutError' };
    }
    outcome.durationMs = Date.now() - started;
    return outcome;
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.reorderTimer) clearTimeout(this.reorderTimer);
    this.reorderBuffer = [];
    this.shutdown.abort();
    await this.agent.destroy().catch(() => undefined);
  }
}

/** The fields every sender's attempt log shares, for its attempt number `attempt`. */
export function attemptOf(attempt: number, sent: PostOutcome): { attempt: number; startedAt: string; durationMs: number; statusCode: number | null } {
  return { attempt, startedAt: sent.startedAt, durationMs: sent.durationMs, statusCode: sent.statusCode };
}

/** An attempt's failure for its log: the timeout, else the error's message. */
export function describeFailure(failure: PostOutcome['failure'], timeoutMs: number): string | null {
  if (!failure) return null;
  if (failure.timedOut) return `timed out after ${timeoutMs} ms`;
  return failure.error instanceof Error ? failure.error.message : String(failure.error);
}
