import type { CrmKind, WriteActor } from './connector.ts';

/*
 * How a CRM's change notifications reach the service: the server owns the HTTP route (body limits, metrics, the inbox
 * commit, the reply), the CRM's own module decides what a request means. A decoder authenticates, parses and names
 * the records and the dedup key; the route stores the event and its jobs in one transaction before it answers.
 */

/** The parts of an HTTP request a decoder may look at. `body` is the exact bytes received. */
export interface NotificationRequest {
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  params: Record<string, unknown>;
  body: Buffer;
}

export interface NotificationRejection {
  ok: false;
  status: number;
  /** Metric label and error code (`unauthenticated`, `invalid_payload`, …). */
  reason: string;
  /** Says what is wrong without repeating any secret. */
  message: string;
}

export interface DecodedNotification {
  ok: true;
  /** Stable per notification: a redelivery carries the same key. */
  dedupKey: string;
  eventName: string;
  resourceId: string | null;
  /** What the inbox keeps; never a credential the CRM may have put in the raw body. */
  payload: string;
  /** The records to sync. */
  records: Array<{ entity: string; id: string }>;
  /** Who made the change, where the CRM says: the echo of our own write is stored but needs no sync. */
  actor?: WriteActor;
}

/** One configured connection's decoder. */
export interface NotificationDecoder {
  connection: string;
  decode(request: NotificationRequest): NotificationRejection | DecodedNotification;
}

/** A vendor's notification route, registered whether or not a connection is configured (then it answers 404). */
export interface NotificationRoute {
  source: CrmKind;
  /** Fastify route path. */
  path: string;
  /** The body is JSON: the server refuses one nested deeper than it allows before anything parses it. */
  json?: boolean;
  /** The 404 message when no connection of this vendor takes notifications. */
  notConfigured: string;
  /** How a rejection is written, where the CRM expects something other than the JSON error body. */
  rejectionBody?: (reason: string, message: string) => { contentType: string; body: string | object };
  /** The answer once the event is durable; without a content type an object goes out as JSON. */
  acceptedBody(result: { id: number; duplicate: boolean }): { contentType?: string; body: string | object };
}

/**
 * What one stored notification says changed: the CRM columns it sent (lower case) and when the operation ran. Null
 * when the body names no columns (a Delete, a trimmed payload). Only vendors whose notifications carry the changed
 * columns (Dataverse's Target, Salesforce CDC's changedFields) provide a reader; without one every field of a record keeps the record's own time.
 */
export type NotifiedChangesReader = (payload: string) => { columns: string[]; at: string | undefined } | null;

export const reject = (status: number, reason: string, message: string): NotificationRejection => ({ ok: false, status, reason, message });

/** Runs the vendor's parser: its own parse error becomes a 400 `invalid_payload`, anything else is a fault and propagates. */
export function parseOrReject<T extends object>(parse: () => T, parseError: new (...args: never[]) => Error): T | NotificationRejection {
  try {
    return parse();
  } catch (error) {
    if (error instanceof parseError) return reject(400, 'invalid_payload', error.message);
    throw error;
  }
}

export const isRejection = (value: object): value is NotificationRejection => (value as { ok?: unknown }).ok === false;
