import { z } from 'zod';

/**
 * `store.retention`: how long housekeeping keeps rows that only serve as history. 0 days keeps them for ever. The
 * webhook inbox is a log of what arrived (the job each event caused is committed with it), kept for inspection and
 * to recognise redeliveries: 30 days covers Partner Center's and Dataverse's retry windows many times over. The audit
 * trail answers "who changed this field" questions, so it is kept a year. Replayed dead letters are resolved;
 * open ones are never deleted.
 */
export const retentionSchema = z
  .object({
    inboxDays: z.number().min(0).default(30),
    /** A cap on the inbox whatever the age of its rows (a flood of events, a long retention): the newest are kept. */
    inboxMaxEvents: z.number().int().min(1000).default(1_000_000),
    auditDays: z.number().min(0).default(365),
    resolvedDeadLetterDays: z.number().min(0).default(90),
    /** How often the service runs a compaction pass (also once shortly after start). */
    intervalMinutes: z.number().positive().max(24 * 60).default(60),
  })
  .strict();

export type RetentionPolicy = z.output<typeof retentionSchema>;
