import type { CanonicalRecord, CanonicalValue } from '../canonical-value.ts';
import type { CredentialRecord } from '../http/refresh-token-vault.ts';
import type { Logger } from '../util/logger.ts';

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
  /** Work this notification asks for, enqueued in the same transaction as the inbox row (not for redeliveries). */
  jobs?: readonly JobRequest[];
  /** A stream's resume point, committed in the same transaction (also for a redelivery). */
  watermark?: { source: string; value: string } | undefined;
}

export interface InboxEvent extends Omit<NewInboxEvent, 'jobs' | 'watermark'> {
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
  list(query: InboxQuery): Promise<InboxEvent[]>;
  count(source?: EventSource): Promise<number>;
}

export interface Store {
  readonly inbox: Inbox;
  /** Pulled and leased by a worker (SQLite), or pushed to a runner (PostgreSQL); `kind` tells which. */
  readonly jobs: LeasedJobQueue | RunnableJobQueue;
  readonly sync: SyncState;
  /**
   * Mutual exclusion wherever the store is shared: in-process for SQLite (one process owns the file), PostgreSQL
   * advisory locks across every instance on the database.
   */
  readonly locks: KeyedLocks;
  /** Read-only views for the operator console. */
  readonly console: ConsoleReads;
  /** Credentials kept between runs (Entra's rotated refresh token, sealed) and when they were last used. */
  readonly credentials: { get(name: string): Promise<CredentialRecord | undefined> };
  close(): Promise<void>;
}

export type { CredentialRecord };

export type JobCause = 'event' | 'reconcile' | 'manual';

/**
 * Work for one linked pair, named from whichever side is known: a referral id, or a CRM record not yet linked. A CRM
 * request for a record that is already linked is filed under its referral, so one pair never runs twice at once.
 */
export interface JobRequest {
  connection: string;
  cause: JobCause;
  referralId?: string | undefined;
  crm?: { entity: string; id: string } | undefined;
  /**
   * Whether Microsoft's referral in the engagement may have changed, so the sync must read it again (one more Partner
   * Center call for co-sell deals). Default true; false for notifications that cannot concern it: a change of the
   * partner's own referral or of the CRM record. Coalesced requests OR it.
   */
  microsoftSide?: boolean | undefined;
}

export interface Job {
  key: string;
  connection: string;
  referralId: string | null;
  crmEntity: string | null;
  crmId: string | null;
  cause: JobCause;
  microsoftSide: boolean;
  /** Bumped by every enqueue of the same key; completion only deletes the generation it ran. */
  generation: number;
  attempts: number;
  lastError: string | null;
  /**
   * When the job was last enqueued (or rescheduled), ms since the epoch: a Partner Center read started after it sees
   * every change its events announced. Absent (a job built outside the queue): no read is shared with it.
   */
  enqueuedAt?: number;
  /** graphile-worker's id of this run's job (PostgreSQL): what a commit that completes the run deletes. */
  runnerJobId?: string;
}

/** What every job queue offers, whoever runs its jobs. */
export interface JobQueue {
  /**
   * Durable when the promise resolves. Coalesces with a pending job of the same key. A watermark given here commits
   * in the same transaction, so a resume point never runs ahead of the work it covers.
   */
  enqueue(requests: readonly JobRequest[], watermark?: { source: string; value: string }): Promise<void>;
  depth(): Promise<number>;
  /** Epoch ms of the earliest pending job, or null. */
  nextDueAt(): Promise<number | null>;
  /** Calls `listener` soon after work arrives, so a worker need not wait for its next poll; returns the unsubscribe. */
  onEnqueue(listener: () => void): () => void;
}

/** A queue a worker pulls from: it leases due jobs and records each one's outcome itself (SQLite). */
export interface LeasedJobQueue extends JobQueue {
  readonly kind: 'leased';
  /** Leases up to `limit` due jobs; a lease that expires (crashed worker) makes the job claimable again. */
  claim(limit: number, leaseMs: number, now?: number): Promise<Job[]>;
  /**
   * Done: removed, unless it was enqueued again while running, in which case it runs again at once. The pair synced,
   * so its open dead letters are resolved (unless the sync left the pair in error).
   */
  complete(job: Job): Promise<void>;
  retry(job: Job, error: string, delayMs: number, now?: number): Promise<void>;
  /**
   * Runs the job later without counting an attempt: its connection is unavailable, so the job did not fail and must
   * not creep towards dead letters while it waits.
   */
  postpone(job: Job, reason: string, delayMs: number, now?: number): Promise<void>;
  /** Moves the job to dead letters (one transaction). */
  deadLetter(job: Job, error: string): Promise<void>;
}

/**
 * A queue that pushes due jobs to a runner and applies the outcome its handler returns (PostgreSQL: graphile-worker,
 * across every instance on the database).
 */
export interface RunnableJobQueue extends JobQueue {
  readonly kind: 'runner';
  run(options: JobRunnerOptions): Promise<JobRunner>;
}

/**
 * Runs a task while holding every key, one holder at a time per key. Callers that take several sets of keys nested
 * must always nest them in the same order (the sync: pair keys outside, customer keys inside).
 */
export interface KeyedLocks {
  run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T>;
}

export interface Link {
  connection: string;
  referralId: string;
  crmEntity: string;
  crmId: string;
  base: CanonicalRecord;
  pcEtag: string | null;
  crmVersion: string | null;
  syncState: 'ok' | 'error';
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export type AuditDirection = 'to-crm' | 'to-pc' | 'none';
export type AuditOutcome = 'created' | 'written' | 'skipped' | 'conflict' | 'held' | 'failed' | 'linked';

export interface AuditEntry {
  connection: string;
  referralId: string | null;
  crmEntity: string | null;
  crmId: string | null;
  direction: AuditDirection;
  field: string | null;
  oldValue: CanonicalValue | undefined;
  newValue: CanonicalValue | undefined;
  cause: string;
  outcome: AuditOutcome;
  message: string | null;
}

export interface AuditRecord extends AuditEntry {
  id: number;
  at: string;
}

export interface HeldConflict {
  /** Stable while the conflict is held (the row's id); what `cosell conflicts resolve <id>` names. */
  id: number;
  connection: string;
  referralId: string;
  field: string;
  base: CanonicalValue | undefined;
  pc: CanonicalValue | undefined;
  crm: CanonicalValue | undefined;
  detectedAt: string;
  /** An operator's choice not applied yet: the next sync of the pair writes it to both sides and releases the hold. */
  resolution?: ConflictResolution | undefined;
}

/** Which value an operator chose for a held conflict. */
export type ConflictSource = 'partner-center' | 'crm' | 'value';

export interface ConflictResolution {
  take: ConflictSource;
  value: CanonicalValue;
}

export interface DeadLetter {
  id: number;
  jobKey: string;
  connection: string;
  referralId: string | null;
  crmEntity: string | null;
  crmId: string | null;
  cause: string;
  attempts: number;
  error: string;
  failedAt: string;
  replayedAt: string | null;
  /** When it stopped being open: the pair synced afterwards, or an operator replayed it. Null while open. */
  resolvedAt: string | null;
  resolvedBy: DeadLetterResolution | null;
}

/** How a dead letter was closed: a later successful sync of its pair, or an operator's replay. */
export type DeadLetterResolution = 'sync' | 'replay';

/**
 * What a sync is about to write, durable before the first write request. A crash after a write landed but before its
 * sync committed would otherwise leave our own write looking like a seller's change on the next run (a false conflict
 * that newest-wins may resolve against a newer real edit). The commit of the pair removes it.
 */
export interface WriteIntent {
  connection: string;
  referralId: string;
  crmEntity: string;
  /**
   * The base this sync merged against: the committed one, or what an earlier unfinished sync left (so a chain of
   * crashed syncs loses nothing). For a create, the values the CRM record is created with.
   */
  base: CanonicalRecord;
  /** Fields being written to the CRM record and to the referral. */
  toCrm: CanonicalRecord;
  toPc: CanonicalRecord;
}

/** Everything one sync of a pair decided, committed atomically: a crash leaves either all of it or none. */
export interface SyncCommit {
  /** Upserted by referral: a lead promoted to an opportunity moves the link to the new record. */
  link: Omit<Link, 'createdAt' | 'updatedAt'>;
  audit: AuditEntry[];
  holdConflicts: Array<Omit<HeldConflict, 'id' | 'detectedAt' | 'connection' | 'referralId' | 'resolution'>>;
  /** Fields whose held conflict no longer applies. */
  releaseConflicts: string[];
  /** Values this sync wrote to Partner Center, with when the CRM edit they came from was made (see PcFieldWrite). */
  pcFieldWrites?: Record<string, { value: CanonicalValue; changedAt: string }>;
  /**
   * The job whose run this commit ends: nothing the run does afterwards needs the job again, so the job completes in
   * the same transaction (or is marked to rerun when it was enqueued again meanwhile), one commit instead of two. The
   * executor's completion of the run then writes nothing. A crash before this commit leaves the job to run again, as
   * it always did.
   */
  completes?: Job | undefined;
  /** The deal's label (see labelDeal), written in the same transaction. */
  label?: DealLabel;
}

export interface SyncState {
  getLink(connection: string, referralId: string): Promise<Link | null>;
  findLinkByCrm(connection: string, crmEntity: string, crmId: string): Promise<Link | null>;
  /** Also removes the pair's write intent for the committed CRM entity: the writes it announced are now in the base. */
  commit(commit: SyncCommit): Promise<void>;
  /** Several pairs' commits in one transaction (a backfill's batch): one durable write instead of one per pair. */
  commitMany(commits: readonly SyncCommit[]): Promise<void>;
  /** Durable on return, all or none; replaces an earlier intent of the same pair and entity. */
  recordIntents(intents: readonly WriteIntent[]): Promise<void>;
  getIntent(connection: string, referralId: string, crmEntity: string): Promise<WriteIntent | null>;
  /**
   * The idempotency key of the referral create for a CRM record: the one recorded earlier if a create was already
   * attempted (a crash between the POST and the link commit), else a new one, durable before this returns. The link
   * commit of the record removes it.
   */
  createKey(connection: string, crmEntity: string, crmId: string): Promise<string>;
  /**
   * What our syncs last wrote to the referral, per field, with the time of the CRM edit each value came from. Our own
   * write refreshes the referral's updatedDateTime; it is not an edit, so newest-wins compares the edit's time instead
   * while Partner Center still holds that value.
   */
  pcFieldWrites(referralId: string): Promise<Record<string, { value: CanonicalValue; changedAt: string }>>;
  appendAudit(entries: readonly AuditEntry[]): Promise<void>;
  /** Newest first; `outcomes` keeps only entries with one of them (e.g. the conflict history). */
  audit(query: { connection?: string; referralId?: string; crmId?: string; outcomes?: readonly AuditOutcome[]; limit: number; beforeId?: number }): Promise<AuditRecord[]>;
  conflicts(connection?: string): Promise<HeldConflict[]>;
  conflict(id: number): Promise<HeldConflict | null>;
  /**
   * Records an operator's choice for a held conflict and queues a manual sync of its pair, in one transaction; that
   * sync writes the value to both sides and releases the hold. False when no conflict has this id.
   */
  resolveConflict(id: number, resolution: ConflictResolution): Promise<boolean>;
  /** Unresolved ones only when `open`; otherwise the history too. Newest first. */
  deadLetters(query: { open?: boolean; limit: number }): Promise<DeadLetter[]>;
  /** Re-enqueues an open dead letter as a manual job and closes it as resolved by replay (a new failure is a new one). */
  replayDeadLetter(id: number): Promise<boolean>;
  /** What the console lists the deal by; the newest read wins (see DealLabel). */
  labelDeal(label: DealLabel): Promise<void>;
  /** Whether anyone (operator or seller) paused this pair: its syncs are skipped, both directions, until resumed. */
  isPaused(connection: string, referralId: string): Promise<boolean>;
  /** Who holds the pair's pause; empty when it is not paused. */
  pausedBy(connection: string, referralId: string): Promise<PauseHolder['by'][]>;
  /**
   * Pauses a linked pair for `holder` (default an operator), audited once; false when there is no such link or this
   * holder paused it already. Its base stays, so the sync after a resume merges every change either side made meanwhile.
   */
  pausePair(connection: string, referralId: string, holder?: PauseHolder): Promise<boolean>;
  /**
   * Lifts `holder`'s pause (default an operator's), audited; when no other holder is left it queues a sync of the pair
   * (both records read), in the same transaction. False when this holder had not paused it.
   */
  resumePair(connection: string, referralId: string, holder?: PauseHolder): Promise<boolean>;
  getWatermark(source: string): Promise<string | null>;
  /** Every resume point (reconcile cursors, change-stream replay ids), for operators. */
  watermarks(): Promise<Record<string, string>>;
  setWatermark(source: string, value: string): Promise<void>;
}

/**
 * Where a deal stands, worst first: an open dead letter, a held conflict, a link left in error, paused by an operator,
 * a job retrying, no link yet (a referral or CRM record we know of from a read, a job, a dead letter or a conflict), or
 * synced.
 */
export const DEAL_STATES = ['dead-letter', 'conflict', 'error', 'paused', 'retrying', 'unlinked', 'ok'] as const;
export type DealState = (typeof DEAL_STATES)[number];

/**
 * A deal's name and customer as last read: from the referral (Partner Center's names) for a deal with one, from the CRM
 * record for a CRM deal with no referral yet. Kept apart from the sync base, which holds only mapped fields (an
 * opportunity's customer is a lookup, not a name).
 */
/**
 * Who paused a pair: an operator (console), or the seller who set "Sync with Partner Center" to No on the linked record
 * in `crm` (its display name, for the Audit line). Each lifts only its own pause: a seller's Yes does not undo an
 * operator's decision, and an operator's resume does not override a seller's No still standing on the record.
 */
export type PauseHolder = { by: 'operator' } | { by: 'seller'; crm: string };

export interface DealLabel {
  connection: string;
  /** Set for a referral; null for a CRM record with no referral (then crmEntity and crmId are set). */
  referralId: string | null;
  crmEntity: string | null;
  crmId: string | null;
  name: string | null;
  customer: string | null;
  /** An incoming referral awaiting the partner's answer: when it expires (see respondBy); else null. */
  respondBy: string | null;
}

type DealRef = Pick<DealLabel, 'connection' | 'referralId' | 'crmEntity' | 'crmId'>;

/** A deal within its connection: its referral id, or `crm:<entity>:<id>` for a CRM record with no referral yet. */
export const dealSubject = (d: Omit<DealRef, 'connection'>): string => d.referralId ?? `crm:${d.crmEntity ?? ''}:${d.crmId ?? ''}`;

/** The key of a deal in `dealNames`. */
export const dealKey = (d: DealRef): string => `${d.connection}\u0000${dealSubject(d)}`;

/** An incoming referral whose response deadline is near, not alerted yet. */
export interface ResponseDue {
  connection: string;
  referralId: string;
  name: string | null;
  customer: string | null;
  respondBy: string;
}

/**
 * One row of the console's deal list: a linked pair, a referral a connection knows of without a link, or a CRM record
 * with no referral (referralId null).
 */
export interface DealSummary extends DealLabel {
  /** Name and customer: the deal's label, else the pair's sync base. Status from the base (null until linked). */
  status: string | null;
  microsoftStatus: string | null;
  state: DealState;
  /** Paused by an operator (shown even when a worse state, such as a dead letter, is the deal's state). */
  paused: boolean;
  /** When the pair last committed a sync (for a deal not linked yet: when it was last read). */
  lastSyncAt: string | null;
  lastError: string | null;
}

export interface DealQuery {
  /** Matched (case-insensitively, anywhere) against name, customer, referral id and CRM id. */
  search?: string | undefined;
  connection?: string | undefined;
  state?: DealState | undefined;
  limit: number;
  offset: number;
}

/** Per CRM connection, what the console's health card counts. */
export interface ConnectionCounts {
  synced: number;
  needingAttention: number;
  /** Pairs with at least one held conflict. */
  inConflict: number;
  /** Open dead letters. */
  deadLettered: number;
  /** Jobs waiting for another attempt after a failure. */
  retrying: number;
  /** Pairs paused, by an operator or a seller (counted once). */
  paused: number;
  /** The most recent failure a queued job recorded. */
  lastJobError: { message: string; at: string } | null;
}

export interface ConsoleReads {
  /** Newest sync first; `total` counts every match. */
  deals(query: DealQuery): Promise<{ total: number; deals: DealSummary[] }>;
  deal(connection: string, referralId: string): Promise<DealSummary | null>;
  /** A CRM record with no referral, as the deal list shows it; null when it is linked or unknown. */
  crmDeal(connection: string, crmEntity: string, crmId: string): Promise<DealSummary | null>;
  connectionCounts(): Promise<Record<string, ConnectionCounts>>;
  /** Open and closed, newest first. */
  pairDeadLetters(connection: string, referralId: string, limit: number): Promise<DeadLetter[]>;
  /** The same for a CRM record with no referral. */
  crmDeadLetters(connection: string, crmEntity: string, crmId: string, limit: number): Promise<DeadLetter[]>;
  /**
   * The names to show for these deals (dead letters, conflicts), keyed by `dealKey`: each one's label, else its base.
   * Deals with no name known are left out.
   */
  dealNames(deals: ReadonlyArray<DealRef>): Promise<Map<string, string>>;
  /** Incoming referrals still awaiting an answer that must be answered before `until`, and not alerted yet. */
  responsesDue(until: string): Promise<ResponseDue[]>;
  /** Marks a referral's deadline as alerted (on every connection), so it is announced once, across restarts. */
  markResponseAlerted(referralId: string): Promise<void>;
}

/**
 * What became of one run of a pair's job, decided by the sync side and applied by the queue:
 * - done: the job completes; the pair's open dead letters resolve (it synced).
 * - retry: it failed and runs again after `delayMs` (ours: Retry-After or our backoff), one more attempt counted.
 * - postpone: its connection is unavailable; it runs after `delayMs` without counting an attempt.
 * - dead: it failed for good; a dead letter is filed and the job completes.
 */
export type JobOutcome =
  | { kind: 'done' }
  | { kind: 'retry'; error: string; delayMs: number }
  | { kind: 'postpone'; reason: string; delayMs: number }
  | { kind: 'dead'; error: string };

export interface JobRunnerOptions {
  /** Jobs run at once by this runner (one pair never runs twice at once, whatever this is). */
  concurrency: number;
  /**
   * Runs one job and says what became of it. Expected failures are outcomes, not throws: a throw is a bug or an outage
   * below the sync's error handling, and the queue treats it as its own failure (see the driver's runner).
   */
  handle(job: Job): Promise<JobOutcome>;
  logger: Logger;
}

/** A queue that pushes due jobs to `handle` (PostgreSQL: graphile-worker), as opposed to a worker pulling leased ones. */
export interface JobRunner {
  /** Stops taking jobs and waits for the ones in flight. */
  stop(): Promise<void>;
  readonly inFlight: number;
}
