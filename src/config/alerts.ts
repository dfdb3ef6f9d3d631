import { z } from 'zod';
import { secretRefSchema } from './secrets.ts';

/**
 * `alerts`: where the service posts a message when something needs an operator. An incoming webhook URL carries its own
 * credential (anyone holding it can post to the channel), so it is a secret reference, never a plain value.
 */
/**
 * `alerts.email`: the same messages by e-mail, through the organisation's SMTP relay (SMTP, RFC 5321; STARTTLS, RFC
 * 3207). The password is a secret reference.
 */
export const emailAlertsSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(587),
    /** TLS from the first byte (SMTPS, usually port 465); otherwise the connection is upgraded with STARTTLS. */
    secure: z.boolean().default(false),
    /** Refuse to send unless the server upgrades to TLS; turn off only for a relay on a trusted local network. */
    requireTls: z.boolean().default(true),
    user: z.string().min(1).optional(),
    password: secretRefSchema.optional(),
    /** The sender, `address` or `Name <address>`. */
    from: z.string().min(3).max(320),
    to: z.array(z.email()).min(1).max(20),
  })
  .strict()
  .refine((e) => (e.user === undefined) === (e.password === undefined), { message: 'user and password go together', path: ['password'] });

export const alertsSchema = z
  .object({
    /**
     * Incoming webhooks taking `{"text": "…"}`: Slack ("Sending messages using incoming webhooks") and Microsoft Teams'
     * Incoming Webhook connector ("Create an Incoming Webhook", Microsoft Learn) both do.
     */
    webhooks: z.array(z.object({ url: secretRefSchema }).strict()).max(10).default([]),
    email: emailAlertsSchema.optional(),
    /** A connection whose calls all fail for this long is reported (once per outage, and again when it recovers). */
    connectionFailingMinutes: z.number().min(0).max(24 * 60).default(5),
    /**
     * How often Partner Center's webhook registration is checked (one API call), so a registration another tool
     * replaced is reported; 0: only when an operator asks (the console's "Check now").
     */
    registrationCheckMinutes: z.number().min(0).max(24 * 60).default(15),
    /**
     * An incoming referral still awaiting the partner's answer is reported once when its 14-day response window has
     * this many hours left (Partner Center archives it as Expired at the end).
     */
    responseDeadlineHours: z.number().min(0).max(14 * 24).default(72),
    /** At most one message per this many seconds: everything new since the last one goes into one message. */
    intervalSeconds: z.number().int().min(1).max(3600).default(60),
  })
  .strict();

export type AlertsConfig = z.infer<typeof alertsSchema>;
export type EmailAlertsConfig = z.infer<typeof emailAlertsSchema>;
