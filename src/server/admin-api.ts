import type { AuditRecord, DeadLetter, HeldConflict } from '../store/types.ts';
import type { ReconcileReport } from '../sync/reconciler.ts';

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
