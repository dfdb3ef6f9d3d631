import type { ChangeEventDraft } from './change-event-builder.ts';

export interface RetainedEvent {
  replayId: number;
  entityName: string;
  createdAt: number;
  data: { schema: string; payload: ChangeEventDraft['payload']; event: { replayId: number } };
}

export interface RetentionPolicy {
  /** Events older than this are gone (Change Data Capture Developer Guide: 72 h, UNCONFIRMED). */
  maxAgeMs: number;
  /** A cap on retained events so a long-running sandbox does not grow without bound. */
  maxEvents: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { maxAgeMs: 72 * 60 * 60 * 1000, maxEvents: 100_000 };

type Listener = (event: RetainedEvent) => void;

/**
 * The retained change-event stream with replay ids (Change Data Capture Developer Guide): subscribers can replay
 * everything retained (-2), only new events (-1), or everything after a replay id they stored — as long as that id is
 * still inside the retention window.
 */
export class ChangeEventLog {
  private events: RetainedEvent[] = [];
  private lastReplayId = 0;
  private readonly listeners = new Set<Listener>();

  constructor(private readonly retention: RetentionPolicy = DEFAULT_RETENTION) {}

  append(draft: ChangeEventDraft): RetainedEvent {
    this.lastReplayId += 1;
    const replayId = this.lastReplayId;
    const event: RetainedEvent = {
      replayId,
      entityName: draft.entityName,
      createdAt: Date.now(),
      data: { schema: draft.schema, payload: draft.payload, event: { replayId } },
    };
    this.events.push(event);
    this.trim();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latestReplayId(): number {
    return this.lastReplayId;
  }

  /**
   * Whether "everything after `replayId`" can still be served: the id must have been issued, and nothing after it may
   * have aged out of retention.
   */
  canReplayAfter(replayId: number): boolean {
    this.trim();
    if (replayId > this.lastReplayId || replayId < 0) return false;
    const oldest = this.events[0]?.replayId ?? this.lastReplayId + 1;
    return replayId >= oldest - 1;
  }

  /** Retained events after the replay id (all retained for -2). */
  after(replayId: number): RetainedEvent[] {
    this.trim();
    return replayId === -2 ? [...this.events] : this.events.filter((event) => event.replayId > replayId);
  }

  retained(): RetainedEvent[] {
    this.trim();
    return [...this.events];
  }

  private trim(): void {
    const cutoff = Date.now() - this.retention.maxAgeMs;
    let drop = 0;
    while (drop < this.events.length && ((this.events[drop]?.createdAt ?? 0) < cutoff || this.events.length - drop > this.retention.maxEvents)) drop += 1;
    if (drop > 0) this.events = this.events.slice(drop);
  }
}
