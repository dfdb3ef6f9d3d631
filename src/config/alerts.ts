import { z } from 'zod';
import { secretRefSchema } from './secrets.ts';

/**
 * `alerts`: where the service posts a message when something needs an operator. An incoming webhook URL carries its own
 * credential (anyone holding it can post to the channel), so it is a secret reference, never a plain value.
 */
export const alertsSchema = z
  .object({
    /**
     * Incoming webhooks taking `{"text": "…"}`: Slack ("Sending messages using incoming webhooks") and Microsoft Teams'
     * Incoming Webhook connector ("Create an Incoming Webhook", Microsoft Learn) both do.
     */
    webhooks: z.array(z.object({ url: secretRefSchema }).strict()).max(10).default([]),
    /** A connection whose calls all fail for this long is reported (once per outage, and again when it recovers). */
    connectionFailingMinutes: z.number().min(0).max(24 * 60).default(5),
    /**
     * How often Partner Center's webhook registration is checked (one API call), so a registration another tool
     * replaced is reported; 0: only when an operator asks (the console's "Check now").
     */
    registrationCheckMinutes: z.number().min(0).max(24 * 60).default(15),
    /** At most one message per this many seconds: everything new since the last one goes into one message. */
    intervalSeconds: z.number().int().min(1).max(3600).default(60),
  })
  .strict();

export type AlertsConfig = z.infer<typeof alertsSchema>;
