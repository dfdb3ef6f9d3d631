import { z } from 'zod';
import type { Job } from '../types.ts';

/** graphile-worker's task identifier for the sync of one pair. */
export const SYNC_PAIR_TASK = 'sync-pair';

/**
 * The payload of a `sync-pair` job. Our retry state (attempts, lastError) lives here rather than in graphile-worker's
 * own columns: graphile-worker resets those whenever a job key is replaced, and our delays (Retry-After, backoff,
 * postponement) are set by us, not by its exponential backoff. Parsed with zod because the row may have been written
 * by another version of the service.
 */
export const pairJobPayloadSchema = z.object({
  connection: z.string().min(1),
  referralId: z.string().nullable(),
  crmEntity: z.string().nullable(),
  crmId: z.string().nullable(),
  cause: z.enum(['event', 'reconcile', 'manual']),
  microsoftSide: z.boolean(),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().nullable(),
  /** Epoch ms of the last enqueue or reschedule (see Job.enqueuedAt). */
  enqueuedAt: z.number().int().nonnegative(),
});

export type PairJobPayload = z.infer<typeof pairJobPayloadSchema>;

/**
 * Our `Job` for a payload. graphile-worker has no generation: an enqueue while the job runs makes a new job row (see
 * job-enqueue.ts), so every run is generation 1.
 */
export function jobFromPayload(key: string, payload: PairJobPayload): Job {
  return {
    key,
    connection: payload.connection,
    referralId: payload.referralId,
    crmEntity: payload.crmEntity,
    crmId: payload.crmId,
    cause: payload.cause,
    microsoftSide: payload.microsoftSide,
    generation: 1,
    attempts: payload.attempts,
    lastError: payload.lastError,
    enqueuedAt: payload.enqueuedAt,
  };
}
