import { z } from 'zod';
import { secretRefSchema } from './secrets.ts';
import { httpUrl } from './url.ts';

/*
 * The `dynamics` section of cosell.yaml (one per Dataverse environment). Secrets are references (`env:NAME`,
 * `file:/path`), never values. Sandbox mode points at the local Dataverse sandbox with a static token.
 * It sits with the file's other sections so that config/schema.ts composes the file without importing upwards;
 * crm/dynamics's vendor entry hands it on.
 */

const publisherPrefix = z
  .string()
  .regex(/^[a-z][a-z0-9]{1,7}$/, 'expected the publisher customization prefix: 2–8 lower-case letters or digits, starting with a letter');

const webhookSchema = z
  .object({
    /**
     * HttpHeader (default) sends `headerName: <secret>`; WebhookKey sends `?code=<secret>` ("Use webhooks to create
     * external handlers for server events").
     */
    auth: z.enum(['HttpHeader', 'WebhookKey']).default('HttpHeader'),
    headerName: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'expected an HTTP header name')
      .default('x-cosell-webhook-key'),
    secret: secretRefSchema,
    /** Columns whose change fires an Update notification, per table; unset fires on every update. */
    filteringAttributes: z
      .object({ opportunity: z.array(z.string().min(1)).optional(), lead: z.array(z.string().min(1)).optional() })
      .strict()
      .optional(),
  })
  .strict();

export const dynamicsConfigSchema = z
  .object({
    /** Connection name: part of every job key and link. */
    name: z.string().min(1).default('dynamics'),
    /** Environment URL, e.g. https://contoso.crm.dynamics.com (sandbox: the sandbox's URL). */
    orgUrl: httpUrl('https://contoso.crm.dynamics.com'),
    /**
     * `entra`: client credentials of an app registration with an application user in the environment ("Use OAuth
     * authentication with Microsoft Dataverse").
     */
    mode: z.enum(['entra', 'sandbox']).default('entra'),
    tenantId: z.string().min(1).optional(),
    clientId: z.string().min(1).optional(),
    clientSecret: secretRefSchema.optional(),
    authorityHost: z.url().default('https://login.microsoftonline.com'),
    /** Any non-empty token: the sandbox accepts every bearer token. */
    sandboxToken: z.string().min(1).default('sandbox-token'),
    prefix: publisherPrefix.default('cosell'),
    /** Unmanaged solution that `cosell setup dynamics` puts the custom columns in. */
    solutionUniqueName: z.string().min(1).optional(),
    /** Whether referrals not yet accepted may become leads (Microsoft's "Sync Co-sell opportunity = No"). */
    leadsEnabled: z.boolean().default(true),
    statusIndicator: z
      .object({ nameSuffix: z.boolean().default(true) })
      .strict()
      .prefault({}),
    /** Status reason for lost opportunities: 4 Canceled, 5 Out-Sold, or the org's own. */
    lostStatusCode: z.number().int().positive().default(4),
    timeoutMs: z.number().int().positive().max(300_000).default(30_000),
    webhook: webhookSchema.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.mode === 'entra') {
      for (const field of ['tenantId', 'clientId', 'clientSecret'] as const) {
        if (config[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `required when mode is entra (the app registration's ${field})` });
      }
    }
    // An unparsable orgUrl has its own issue already; this refinement must not throw on it.
    if (config.mode === 'sandbox' && URL.canParse(config.orgUrl) && /\.dynamics\.com$/i.test(new URL(config.orgUrl).hostname)) {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: 'sandbox tokens cannot authenticate to Dataverse; set mode to entra' });
    }
  });

export type DynamicsConfig = z.output<typeof dynamicsConfigSchema>;
export type DynamicsConfigInput = z.input<typeof dynamicsConfigSchema>;
