import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { secretRefSchema as secretRef } from './secrets.ts';
import { alertsSchema } from './alerts.ts';
import { httpUrl } from './url.ts';
import { dynamicsConfigSchema } from './dynamics.ts';
import { salesforceConfigSchema } from './salesforce.ts';
import { retentionSchema } from './retention.ts';

const hostPort = z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'expected a host name, optionally with :port');

const sqliteStoreSchema = z
  .object({
    driver: z.literal('sqlite'),
    path: z.string().min(1).default('data/cosell.db'),
    /**
     * `full` fsyncs every commit so an acknowledged event survives power loss; `normal` survives process crashes
     * only (WAL) and is faster. Acknowledged means durable, so full is the default.
     */
    synchronous: z.enum(['full', 'normal']).default('full'),
    retention: retentionSchema.prefault({}),
  })
  .strict();

/**
 * A PostgreSQL store that several instances share (issue 15). The URL holds the password, so it is a secret reference
 * like every other credential. TLS: `verify-full` checks the server's certificate and name (`ca` adds a private CA),
 * `require` encrypts without checking who answers, `disable` sends in clear. Unset, the store picks when it knows the
 * host (the URL is resolved at start-up): `disable` for localhost, a loopback address or a Unix socket, `verify-full`
 * for anything else, so a remote database is never reached by a connection a network attacker could intercept.
 */
const postgresStoreSchema = z
  .object({
    driver: z.literal('postgres'),
    url: secretRef,
    pool: z
      .object({ max: z.number().int().min(2, 'at least 2: the job runner and the webhook writes each need a connection').max(1000).default(10) })
      .strict()
      .prefault({}),
    ssl: z
      .object({
        mode: z.enum(['disable', 'require', 'verify-full']).optional(),
        /** PEM file of the CA that signed the server's certificate (verify-full with a private CA). */
        ca: z.string().min(1).optional(),
      })
      .strict()
      .prefault({})
      .superRefine((ssl, ctx) => {
        if (ssl.ca !== undefined && ssl.mode !== undefined && ssl.mode !== 'verify-full') {
          ctx.addIssue({ code: 'custom', path: ['ca'], message: `a CA is only used to verify the server (ssl.mode verify-full), not with ${ssl.mode}` });
        }
      }),
    retention: retentionSchema.prefault({}),
  })
  .strict();

const STORE_DRIVERS = ['sqlite', 'postgres'] as const;

/** `store`: the embedded SQLite file (default, also when `driver` is left out) or a shared PostgreSQL database. */
const storeSchema = z
  .preprocess((value) => {
    if (value === undefined) return { driver: 'sqlite' };
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('driver' in value)) return { ...value, driver: 'sqlite' };
    return value;
  }, z.object({ driver: z.unknown() }).passthrough().superRefine((store, ctx) => {
    // Said here rather than left to the union, whose own message for an unknown driver is only "Invalid input".
    if (!STORE_DRIVERS.includes(store.driver as (typeof STORE_DRIVERS)[number])) {
      ctx.addIssue({ code: 'custom', path: ['driver'], message: `expected one of ${STORE_DRIVERS.join(', ')}` });
    }
  }).pipe(z.discriminatedUnion('driver', [sqliteStoreSchema, postgresStoreSchema])));

export type SqliteStoreConfig = z.infer<typeof sqliteStoreSchema>;
export type PostgresStoreConfig = z.infer<typeof postgresStoreSchema>;

/**
 * The SQLite store's settings, for what works on the embedded file only (a backup copy, a read-only look while the
 * service runs, the service itself until it opens a PostgreSQL store); a PostgreSQL store is refused as invalid
 * configuration naming store.driver (exit 2).
 */
export function sqliteStoreConfig(store: SqliteStoreConfig | PostgresStoreConfig, what: string): SqliteStoreConfig {
  if (store.driver === 'sqlite') return store;
  throw new ConfigError('', 'store.driver', `${what} works with the SQLite store only (store.driver is ${store.driver})`);
}

export const webhookVerificationSchema = z
  .object({
    /**
     * Hosts the X-MS-Certificate-Url may point at. The service fetches nothing else, so a forged request cannot make it
     * call an arbitrary URL. Microsoft's documented sample uses the Azure blob host below.
     */
    certificateHosts: z.array(hostPort).min(1).default(['3psostorageacct.blob.core.windows.net']),
    /** Hosts (host or host:port) whose certificate URL may be plain http: only ever sandbox hosts. */
    insecureHttpHosts: z.array(hostPort).default([]),
    /** PEM files holding the trust anchors the signing certificate must chain to; `system` adds Node's Mozilla roots. */
    trustAnchors: z.array(z.union([z.literal('system'), z.string().min(1)])).min(1).default(['system']),
    /** PEM files with intermediate CA certificates, for chains whose .cer does not carry them. */
    intermediates: z.array(z.string().min(1)).default([]),
    /** The certificate's subject and issuer must name this organization (Microsoft's sample checks the issuer). */
    organization: z.string().min(1).default('Microsoft Corporation'),
    certificateFetchTimeoutMs: z.number().int().positive().default(5_000),
    certificateMaxBytes: z.number().int().positive().default(64 * 1024),
    certificateCacheTtlSeconds: z.number().int().positive().default(24 * 3600),
    /**
     * Certificate downloads per allowlisted host per minute. Anyone can name any URL on an allowed host, so this bounds
     * what forged requests can make us fetch; past it a webhook gets 503 + Retry-After (Partner Center retries).
     * Microsoft signs with one certificate URL at a time, so a handful is plenty.
     */
    certificateDownloadsPerMinute: z.number().int().positive().max(600).default(10),
  })
  .strict();


const partnerCenterAuthSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('sandbox'), token: z.string().min(1).default('sandbox-token') }).strict(),
  z
    .object({
      mode: z.literal('entra'),
      tenantId: z.string().min(1),
      clientId: z.string().min(1),
      clientSecret: secretRef,
      /** Secure Application Model: refresh token of a Referrals admin user. */
      refreshToken: secretRef,
      authorityHost: z.string().url().default('https://login.microsoftonline.com'),
      /**
       * Key (64 hex digits or 32 bytes base64) sealing the rotated refresh token in the store (AES-256-GCM). Unset: the
       * rotated token is not kept and each restart starts again from `refreshToken`.
       */
      tokenEncryptionKey: secretRef.optional(),
      /** Alert when the refresh token would expire by inactivity (90 days unused) within this many days. */
      refreshTokenWarningDays: z.number().int().min(1).max(89).default(14),
    })
    .strict(),
]);

/**
 * Which proxies may set X-Forwarded-For / -Proto / -Host: none (the default, so no client can choose the address the
 * logs show), a hop count, or a list of proxy addresses / CIDR ranges — the forms Fastify's `trustProxy` accepts.
 * `true` (trust anyone) is deliberately not accepted.
 */
const trustProxySchema = z
  .union([
    z.literal(false),
    z.number().int().min(1).max(10),
    z
      .array(
        z.string().refine((entry) => {
          const [address, prefix, ...rest] = entry.split('/');
          const family = isIP(address ?? '');
          if (family === 0 || rest.length > 0) return false;
          return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
        }, 'expected an IP address or CIDR range (e.g. 10.0.0.0/8)'),
      )
      .min(1),
  ])
  .default(false);

const LOOPBACK_HOSTS = new Set(['localhost', '::1']);
/** True for addresses only this machine can reach: what `admin.auth: none` requires. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || (isIP(host) === 4 && host.startsWith('127.'));
}

export const DEFAULT_ADMIN_PORT = 4180;

/**
 * The admin listener: API, dashboard, /metrics, /readyz. Private by default (loopback) and authenticated: a bearer
 * token for the CLI and scripts, a login for the dashboard.
 */
export const adminSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(DEFAULT_ADMIN_PORT),
    /** `none` turns authentication off; accepted only when `host` is a loopback address. */
    auth: z.enum(['token', 'none']).default('token'),
    /** Where the admin token lives (at least 32 characters); the CLI reads the same reference. */
    token: secretRef.default({ env: 'COSELL_ADMIN_TOKEN' }),
    /**
     * Host names (without port) the admin listener answers to besides `localhost`, IP literals and `host`, e.g. the name a
     * reverse proxy forwards. Any other Host header is refused, which stops DNS-rebinding pages from reaching the API.
     */
    allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'expected a host name without port')).default([]),
    trustProxy: trustProxySchema,
    /** How long a dashboard login lasts. */
    sessionHours: z.number().min(0.1).max(24 * 30).default(12),
  })
  .strict()
  .superRefine((admin, ctx) => {
    if (admin.auth === 'none' && !isLoopbackHost(admin.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message: `admin authentication can be turned off only when admin.host is a loopback address (it is ${admin.host})`,
      });
    }
  });

export const syncSchema = z
  .object({
    /**
     * Pairs synced in parallel (one pair is always serialized). A sync is a few sequential API calls, so 50 changes/s
     * at 50 ms per call needs ~30 in flight; 32 stays under Dataverse's 52 concurrent requests per user.
     */
    concurrency: z.number().int().min(1).max(64).default(32),
    /** Reconcile once at start-up: heals whatever changed while the service was down. */
    reconcileOnStart: z.boolean().default(true),
    /** How often the reconciler lists what changed on every side, as a safety net for lost notifications. */
    reconcileIntervalSeconds: z.number().int().min(5).default(60),
    /** Each pass re-lists this far behind its watermark (clock skew, late visibility of changes). */
    reconcileOverlapSeconds: z.number().int().min(0).default(300),
    /** How far back the very first pass looks. */
    initialLookbackHours: z.number().min(0).default(24),
    /**
     * Every this many hours a reconcile pass also re-reads Microsoft's side (status, CRM id) of every open co-sell
     * pair. A lost related-referral webhook changes nothing the normal pass can see (the partner's own referral does
     * not move), so this is what heals it. 0 turns it off.
     */
    microsoftSideRefreshHours: z.number().min(0).default(6),
    maxAttempts: z.number().int().min(1).max(50).default(10),
    /**
     * "CRM ID" writes a backfill keeps in flight against Partner Center (one PATCH per referral, it has no batch write).
     * A throttling answer halves it for a while (see crm-id-write-gate.ts).
     */
    backfillWritesInFlight: z.number().int().min(1).max(64).default(32),
  })
  .strict();

/**
 * Limits of every outbound call (Partner Center, Entra, Dataverse, Salesforce), per phase, so a host that accepts the
 * connection and then stays silent fails in seconds with the host and the phase named. A timed-out call is retried
 * once; the job queue tries again later.
 */
export const outboundSchema = z
  .object({
    /** TCP and TLS handshake (with the proxy, when one is used). */
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** From the request being sent until the response headers arrive. */
    headersTimeoutMs: z.number().int().min(100).max(300_000).default(30_000),
    /** The longest pause between two chunks of a response body. */
    bodyTimeoutMs: z.number().int().min(100).max(300_000).default(30_000),
  })
  .strict();

export const configSchema = z
  .object({
    sync: syncSchema.prefault({}),
    outbound: outboundSchema.prefault({}),
    /** Mapping file per connection kind; defaults to the bundled mappings/<kind>.yaml. */
    mappings: z.object({ dynamics: z.string().min(1).optional(), salesforce: z.string().min(1).optional() }).strict().prefault({}),
    /** The Dynamics 365 (Dataverse) connection; absent = not synced. */
    dynamics: dynamicsConfigSchema.optional(),
    /** The Salesforce connection; absent = not synced. */
    salesforce: salesforceConfigSchema.optional(),
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(4100),
        /** Public base URL of this service, used when registering webhooks. */
        publicUrl: z.string().url().optional(),
        bodyLimitBytes: z.number().int().positive().max(10 * 1024 * 1024).default(256 * 1024),
        trustProxy: trustProxySchema,
      })
      .strict()
      .prefault({}),
    admin: adminSchema.prefault({}),
    /** Notifications to a chat channel (see alerts.ts); none by default. */
    alerts: alertsSchema.prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        pretty: z.boolean().optional(),
      })
      .strict()
      .prefault({}),
    store: storeSchema,
    partnerCenter: z
      .object({
        referralsApiUrl: httpUrl('https://api.partner.microsoft.com').default('https://api.partner.microsoft.com'),
        webhooksApiUrl: httpUrl('https://api.partnercenter.microsoft.com').default('https://api.partnercenter.microsoft.com'),
        auth: partnerCenterAuthSchema.prefault({ mode: 'sandbox' }),
        webhooks: webhookVerificationSchema.prefault({}),
      })
      .strict()
      .prefault({})
      .superRefine((pc, ctx) => {
        // An unparsable URL has its own issue already; this refinement must not throw on it.
        const microsoftHost = [pc.referralsApiUrl, pc.webhooksApiUrl].some((u) => URL.canParse(u) && /\.microsoft(-ppe)?\.com$/i.test(new URL(u).hostname));
        if (pc.auth.mode === 'sandbox' && microsoftHost) {
          ctx.addIssue({
            code: 'custom',
            path: ['auth', 'mode'],
            message: 'sandbox tokens cannot authenticate to Microsoft; set partnerCenter.auth.mode to entra (see README)',
          });
        }
      }),
  })
  .strict()
  .superRefine((config, ctx) => {
    // One port cannot be both listeners; caught here rather than as an EADDRINUSE at start-up.
    if (config.admin.port !== 0 && config.admin.port === config.server.port) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'port'], message: `the admin listener needs its own port (server.port is ${config.server.port} too)` });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type AdminConfig = z.infer<typeof adminSchema>;
export type TrustProxy = z.infer<typeof trustProxySchema>;
export type WebhookVerificationConfig = z.infer<typeof webhookVerificationSchema>;
