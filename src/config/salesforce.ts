import { z } from 'zod';
import { secretRefSchema } from './secrets.ts';

/*
 * The `salesforce` section of cosell.yaml (one per Salesforce org). Secrets are references (`env:NAME`, `file:/path`),
 * never values. Sandbox mode runs the client-credentials grant against the local Salesforce sandbox, which accepts any
 * client id and secret.
 * It sits with the file's other sections so that config/schema.ts composes the file without importing upwards;
 * crm/salesforce's vendor entry hands it on.
 */

const salesforceId = z.string().regex(/^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/, 'expected a 15- or 18-character Salesforce id');
const apiVersion = z.string().regex(/^\d{2,3}\.0$/, "expected an API version such as '62.0'");
const clientTag = z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'expected a client name: letters, digits, _ . - (at most 40)');

export const salesforceConfigSchema = z
  .object({
    /** Connection name: part of every job key, link and change-stream cursor. */
    name: z.string().min(1).default('salesforce'),
    /** The org's My Domain URL, e.g. https://contoso.my.salesforce.com (sandbox: the sandbox's URL). */
    instanceUrl: z.url(),
    /**
     * Where tokens are requested. Client credentials must use the My Domain (Salesforce Help "OAuth 2.0 Client
     * Credentials Flow for Server-to-Server Integration"), so it defaults to instanceUrl; JWT bearer may use
     * https://login.salesforce.com or https://test.salesforce.com, and the JWT's audience is this URL.
     */
    loginUrl: z.url().optional(),
    /** `client-credentials`: an External Client App with a Run-As integration user; `jwt`: JWT bearer for `username`. */
    mode: z.enum(['client-credentials', 'jwt', 'sandbox']).default('client-credentials'),
    clientId: z.string().min(1).optional(),
    clientSecret: secretRefSchema.optional(),
    /** JWT bearer: the integration user's username (the `sub` claim) and the PEM private key of the app's certificate. */
    username: z.string().min(1).optional(),
    privateKey: secretRefSchema.optional(),
    apiVersion: apiVersion.default('62.0'),
    /**
     * How seller edits reach cosell-sync within seconds: `cdc` holds a Change Data Capture subscription open (no public
     * endpoint needed); `outbound-messages` takes SOAP notifications on POST /webhooks/salesforce. The reconciler's
     * SystemModstamp poll is the backstop in both modes.
     */
    notifications: z.enum(['cdc', 'outbound-messages']).default('cdc'),
    /** The org id outbound messages must carry. It is not a credential (anyone can learn it), only a second check. */
    organizationId: salesforceId.optional(),
    /**
     * Outbound Messages carry no signature, so the endpoint URL configured in the Outbound Message action carries this
     * secret: https://host/webhooks/salesforce/<secret>. 32 to 96 characters of A-Z a-z 0-9 . _ ~ - (it is a URL path
     * segment); e.g. `openssl rand -hex 32`. Required in outbound-messages mode.
     */
    outboundMessageSecret: secretRefSchema.optional(),
    /**
     * Microsoft's "On-hold stage name": the stage of a co-sell referral from Microsoft that is not accepted yet; moving
     * an opportunity out of it accepts the referral. Default `Prospecting`, the first stage of a new org's sales process
     * (nothing in it is qualified yet). Orgs with a dedicated stage (e.g. "On Hold") should name it here.
     */
    onHoldStage: z.string().min(1).default('Prospecting'),
    /**
     * Microsoft's connector does not send a seller's edits of an incoming referral's opportunity while it sits in the
     * on-hold stage (the partner has not accepted the deal yet); they go once it leaves the stage. true sends them
     * at once.
     */
    syncEditsWhileOnHold: z.boolean().default(false),
    /** Microsoft's "Active stage name": where an accepted referral goes. Default: the first open stage after on-hold. */
    activeStage: z.string().min(1).optional(),
    /** Lead Status values behind the lead `@state`; open defaults to the picklist's default value. */
    leadStatuses: z
      .object({
        open: z.string().min(1).optional(),
        qualified: z.string().min(1).default('Closed - Converted'),
        disqualified: z.string().min(1).default('Closed - Not Converted'),
      })
      .strict()
      .prefault({}),
    /** Microsoft's "Sync Co-sell opportunity": true → only co-sell and pipeline deals come in (as opportunities); false → unaccepted leads too. */
    syncCoSellOnly: z.boolean().default(false),
    statusIndicator: z
      .object({ nameSuffix: z.boolean().default(true) })
      .strict()
      .prefault({}),
    /** The change poll re-reads this far behind its cursor (commit visibility, clock skew); default `sync.reconcileOverlapSeconds`. */
    pollOverlapSeconds: z.number().int().min(0).max(3600).optional(),
    /** Salesforce requires CloseDate; a referral without a closing date gets today + this many days. */
    defaultCloseDateDays: z.number().int().min(0).max(3650).default(90),
    /** The `Sforce-Call-Options: client=` tag on every call; change events carrying it are our own writes. */
    callOptionsClient: clientTag.default('cosell-sync'),
    timeoutMs: z.number().int().positive().max(600_000).default(30_000),
  })
  .strict()
  .superRefine((config, ctx) => {
    const need = (field: 'clientId' | 'clientSecret' | 'username' | 'privateKey', why: string) => {
      if (config[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `required when mode is ${config.mode} (${why})` });
    };
    if (config.mode === 'client-credentials') {
      need('clientId', "the external client app's consumer key");
      need('clientSecret', "the external client app's consumer secret");
    }
    if (config.mode === 'jwt') {
      need('clientId', "the external client app's consumer key");
      need('username', 'the integration user the token is issued for');
      need('privateKey', "the PEM private key of the certificate uploaded to the app");
    }
    if (config.mode === 'sandbox' && URL.canParse(config.instanceUrl) && /\.(salesforce|force)\.com$/i.test(new URL(config.instanceUrl).hostname)) {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: 'sandbox mode only talks to the local Salesforce sandbox; set mode to client-credentials or jwt' });
    }
    if (config.notifications === 'outbound-messages' && config.organizationId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['organizationId'], message: 'required when notifications is outbound-messages: it is how a notification is checked to come from your org' });
    }
    if (config.notifications === 'outbound-messages' && config.outboundMessageSecret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['outboundMessageSecret'],
        message:
          'required when notifications is outbound-messages: the secret the Outbound Message endpoint URL carries (https://host/webhooks/salesforce/<secret>); the organization id alone is public and authenticates nothing',
      });
    }
    if (config.activeStage !== undefined && config.activeStage.toLowerCase() === config.onHoldStage.toLowerCase()) {
      ctx.addIssue({ code: 'custom', path: ['activeStage'], message: 'the active stage must differ from the on-hold stage (leaving on-hold is what accepts a referral)' });
    }
  });

export type SalesforceConfig = z.output<typeof salesforceConfigSchema>;
export type SalesforceConfigInput = z.input<typeof salesforceConfigSchema>;
