import type { AuditRecord, ConnectionCounts, DeadLetter, DealSummary, HeldConflict } from '../store/types.ts';
import type { CanonicalValue } from '../canonical-value.ts';
import type { ReconcileProgress, ReconcileReport } from '../sync/reconciler.ts';
import type { RegistrationState } from './console/registration-watch.ts';
import type { CredentialHealth } from './console/credential-health.ts';
import type { ConnectionHealth, ReadinessReport } from './readiness.ts';

/*
 * The admin API's answers, one definition each: the routes build them, `cosell` prints them and the tests read them.
 * Values the store holds as `undefined` (a field absent on one side) are simply missing from the JSON.
 */

/** GET /api/status */
export interface StatusResponse {
  connections: string[];
  queueDepth: number;
  inFlight: number;
  deadLetters: number;
  heldConflicts: number;
  lastSync: string | null;
  watermarks: Record<string, string | null>;
  /** The reconcile pass in flight (a first-start backfill, say), else the last one; null before the first. */
  reconcile: ReconcileProgress | null;
}

/** GET /api/audit */
export interface AuditResponse {
  entries: AuditRecord[];
}

/** GET /api/conflicts */
export interface ConflictsResponse {
  conflicts: HeldConflict[];
}

/** POST /api/conflicts/:id/resolve (202) */
export interface ResolveConflictResponse {
  resolving: number;
  referralId: string;
  field: string;
  value: unknown;
}

/** GET /api/dead-letters */
export interface DeadLettersResponse {
  deadLetters: DeadLetter[];
}

/** POST /api/dead-letters/:id/replay */
export interface ReplayDeadLetterResponse {
  replayed: number;
}

/** POST /api/dead-letters/replay with {"ids": [...]} (at most MAX_BULK_REPLAY) */
export interface BulkReplayResponse {
  replayed: number[];
  /** Ids that were not open dead letters (already replayed or resolved, or unknown). */
  notOpen: number[];
  message: string;
}

/** POST /api/sync/referral/:id (202) */
export interface SyncReferralResponse {
  enqueued: string[];
}

/** POST /api/reconcile */
export type ReconcileResponse = ReconcileReport;

/** Every refusal and failure of the admin API. */
export interface ErrorResponse {
  error: { code: string; message: string };
}

/** One health card of the console's overview: Partner Center, or a CRM connection. */
export interface ConnectionCard extends ConnectionHealth {
  name: string;
  kind: 'partner-center' | 'dynamics' | 'salesforce';
  /**
   * The API budget and how much of it is used: Dataverse's documented 5-minute limit against our calls in the last 5
   * minutes, Salesforce's daily allocation as its answers report it. Null where none is known (Partner Center).
   */
  budget: { used: number; limit: number; window: string; source: string } | null;
  /** CRM connections only: the store's counts for its pairs. */
  counts: ConnectionCounts | null;
  /** Partner Center only: where its webhook registration points (null when not watched). */
  registration: RegistrationState | null;
  /** Partner Center with Entra sign-in only: the refresh token's last use, inactivity expiry and last refusal. */
  credential: CredentialHealth | null;
}

/** GET /api/overview */
export interface OverviewResponse {
  generatedAt: string;
  status: ReadinessReport['status'];
  store: ReadinessReport['store'];
  queueDepth: number;
  inFlight: number;
  connections: ConnectionCard[];
  totals: Omit<ConnectionCounts, 'lastJobError'>;
}

/** POST /api/registration/check */
export interface RegistrationCheckResponse extends RegistrationState {
  /** The outcome in words, for the console's feedback. */
  message: string;
}

/** POST /api/pairs/:connection/:referralId/pause and …/resume */
export interface PauseResponse {
  paused: boolean;
  message: string;
}

/** GET /api/deals */
export interface DealsResponse {
  total: number;
  page: number;
  pageSize: number;
  deals: Array<DealSummary & RecordUrls>;
}

export interface RecordUrls {
  /** Null for a CRM deal with no referral yet. */
  partnerCenterUrl: string | null;
  /** Null until linked, or when the CRM has no web UI address we know of. */
  crmUrl: string | null;
}

/** GET /api/deals/:connection/:referralId: everything the pair page shows. */
export interface PairResponse {
  deal: DealSummary & RecordUrls;
  /** The values both sides last agreed on, per mapped field (empty until linked). */
  base: Record<string, CanonicalValue>;
  conflicts: HeldConflict[];
  deadLetters: DeadLetter[];
  /** Newest first, at most PAIR_AUDIT_LIMIT. */
  audit: AuditRecord[];
}
