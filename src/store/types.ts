/** Where an accepted notification came from. */
export type EventSource = 'partner-center' | 'dynamics' | 'salesforce';

export interface NewInboxEvent {
  source: EventSource;
  /** Stable key of the notification: a redelivery of the same notification carries the same key. */
  dedupKey: string;
  eventName: string;
  /** The record the notification is about (referral id, CRM id), when the payload names one. */
  resourceId: string | null;
  /** The exact bytes received, kept for audit and replay; never trusted as data. */
  payload: string;
}

export interface InboxEvent extends NewInboxEvent {
  id: number;
  receivedAt: string;
  /** How many times this notification arrived (1 + redeliveries). */
  deliveries: number;
}

export interface AppendResult {
  id: number;
  duplicate: boolean;
}

export interface InboxQuery {
  limit: number;
  /** Page backwards: only events with an id lower than this. */
  beforeId?: number | undefined;
  source?: EventSource | undefined;
  resourceId?: string | undefined;
}

export interface Inbox {
  /** Resolves only once the event is durably committed. */
  append(event: NewInboxEvent): Promise<AppendResult>;
  /** Newest first. */
  list(query: InboxQuery): InboxEvent[];
  count(source?: EventSource): number;
}

export interface Store {
  readonly inbox: Inbox;
  close(): Promise<void>;
}
