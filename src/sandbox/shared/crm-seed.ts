import { z } from 'zod';

/** Rows to seed per table: a count of generated sample rows, or the rows themselves. */
const rowsOrCount = z.union([z.number().int().min(0).max(10_000), z.array(z.record(z.string(), z.unknown())).max(10_000)]);

/** `POST /_sandbox/seed` of a CRM sandbox (Dataverse, Salesforce): the same four tables in both. */
export const crmSeedSchema = z
  .object({
    accounts: rowsOrCount.optional(),
    contacts: rowsOrCount.optional(),
    opportunities: rowsOrCount.optional(),
    leads: rowsOrCount.optional(),
    /**
     * Seeded rows stand for data that existed before; set true to raise the CRM's notifications for them (Dataverse
     * webhooks; Salesforce change events and outbound messages).
     */
    events: z.boolean().optional(),
  })
  .strict();
