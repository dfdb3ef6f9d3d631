import jsforce, { type Connection, type HttpRequest, type HttpRequestOptions, type HttpResponse } from 'jsforce';
import { z } from 'zod';
import { CrmApiError } from '../connector.ts';
import type { CallRecorder } from '../../http/call-record.ts';
import { retryDelay, withRetries, type RetryPolicy } from '../../http/retry.ts';
import type { Logger } from '../../util/logger.ts';
import { ApiAllocationPacer, type ApiPacerOptions, type CallLane } from './api-pacing.ts';
import { ApiUsageMonitor } from './api-usage.ts';
import type { SalesforceAuthenticator, SalesforceGrant } from './auth.ts';
import { toCrmError, type Observation } from './salesforce-errors.ts';
import { useUndiciTransport } from './transport.ts';

export const DEFAULT_SALESFORCE_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 500, maxDelayMs: 10_000, maxRetryAfterMs: 60_000, timeoutRetries: 1 };

export interface SalesforceRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to `/services/data/vXX.X` (`/sobjects/Opportunity`), or a `/services/...` path Salesforce handed back. */
  path: string;
  /** Metric label and error context: a template without ids or values. */
  route: string;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Whether resending after a failure with no answer is safe. GETs are; the connector's writes are too (creates are
   * keyed by the unique referral id, updates carry If-Unmodified-Since), so callers mark those explicitly.
   */
  idempotent?: boolean;
  /** Backfill, bulk matching and the change poll: held back first near the daily allocation (see ApiAllocationPacer). */
  lane?: CallLane;
}

export interface SalesforceClientOptions {
  authenticator: SalesforceAuthenticator;
  apiVersion: string;
  /**
   * Sent as `Sforce-Call-Options: client=<tag>` on every call (REST API Developer Guide): change events name it in
   * changeOrigin.
   */
  callOptionsClient: string;
  logger: Logger;
  /** Per attempt. Default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  onCall?: CallRecorder;
  /** Paces calls on the daily allocation (see ApiAllocationPacer); absent: no pacing (the sandbox). */
  pacing?: ApiPacerOptions;
}

/** jsforce forwards request options untouched to the transport; this key carries our per-request observer there. */
const OBSERVE = '__cosellObserve';
type Observer = (observation: Observation & { durationMs: number }) => void;
type ObservedOptions = HttpRequestOptions & { [OBSERVE]?: Observer };

/**
 * Our own retry policy runs instead of jsforce's built-in one (which retries GET/PUT/DELETE up to 5 times on 420/429/5xx
 * without honouring Retry-After and without telling anyone), so every attempt is counted and bounded.
 */
const NO_LIBRARY_RETRIES: HttpRequestOptions['retry'] = { maxRetries: 0, methods: [], statusCodes: [], errorCodes: [] };

const pageSchema = z.looseObject({
  done: z.boolean(),
  records: z.array(z.record(z.string(), z.unknown())),
  nextRecordsUrl: z.string().nullish(),
});

/**
 * The jsforce Connection plus what it leaves to us: the grant (client credentials / JWT, re-run on 401 through
 * `refreshFn`), a per-attempt timeout, metrics per HTTP attempt, the daily-limit monitor, bounded retries, and
 * conversion of failures to CrmApiError. Every REST call of the connector goes through `send`.
 */
export class SalesforceClient {
  readonly conn: Connection;
  readonly usage: ApiUsageMonitor;
  readonly apiVersion: string;
  readonly callOptionsClient: string;
  readonly timeoutMs: number;
  private readonly policy: RetryPolicy;
  private readonly pacer: ApiAllocationPacer | undefined;
  private session: Promise<SalesforceGrant> | undefined;
  private lastGrant: SalesforceGrant | undefined;

  constructor(private readonly options: SalesforceClientOptions) {
    this.apiVersion = options.apiVersion;
    this.callOptionsClient = options.callOptionsClient;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.policy = { ...DEFAULT_SALESFORCE_RETRY, ...options.retry };
    this.usage = new ApiUsageMonitor(options.logger);
    this.pacer = options.pacing ? new ApiAllocationPacer(() => this.usage.snapshot(), options.pacing) : undefined;
    this.conn = new jsforce.Connection({
      version: options.apiVersion,
      callOptions: { client: options.callOptionsClient },
      // No refresh token exists for these grants: a 401 re-runs the grant instead (jsforce's default refresh would
      // fail with "No refresh token found").
      refreshFn: (conn, callback) => {
        this.grant().then(
          (grant) => {
            conn.instanceUrl = grant.instanceUrl;
            callback(undefined, grant.accessToken);
          },
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
      },
    });
    useUndiciTransport(this.conn, this.timeoutMs);
    this.observeTransport();
  }

  get logger(): Logger {
    return this.options.logger;
  }

  /** The session, authenticating on first use. */
  async connect(): Promise<SalesforceGrant> {
    return this.session ?? this.startSession();
  }

  /** A fresh grant now (the streaming client holds its own copy of the token and needs one after an auth failure). */
  async refreshSession(): Promise<SalesforceGrant> {
    return this.startSession();
  }

  private startSession(): Promise<SalesforceGrant> {
    const pending = this.grant();
    this.session = pending;
    // A failed grant must not stick: the next call tries again.
    pending.catch(() => {
      if (this.session === pending) this.session = undefined;
    });
    return pending;
  }

  /** Identity of the session: the integration user (LastModifiedById of our writes) and the org. */
  async identity(): Promise<{ userId: string | undefined; organizationId: string | undefined }> {
    const grant = this.lastGrant ?? (await this.connect());
    return { userId: grant.userId, organizationId: grant.organizationId };
  }

  private async grant(): Promise<SalesforceGrant> {
    const grant = await this.options.authenticator.grant();
    this.conn.instanceUrl = grant.instanceUrl;
    this.conn.accessToken = grant.accessToken;
    this.lastGrant = grant;
    return grant;
  }

  /** One REST call: authenticated, timed, retried within bounds, failures as CrmApiError / CrmPreconditionFailedError. */
  async send(request: SalesforceRequest): Promise<unknown> {
    await this.connect();
    const waited = (await this.pacer?.take(request.lane ?? 'hot')) ?? 0;
    if (waited > 0) this.logger.debug({ api: 'salesforce', route: request.route, waitedMs: waited, lane: request.lane ?? 'hot' }, 'Salesforce call paced on the daily API allocation');
    const idempotent = request.idempotent ?? request.method === 'GET';
    const operation = `${request.method} ${request.route}`;
    return withRetries((attempt) => this.attempt(request, operation, attempt), {
      policy: this.policy,
      timedOut: (error) => error instanceof CrmApiError && error.code === 'timeout',
      delayAfter: (error, retriesConsumed) => {
        if (!(error instanceof CrmApiError) || !error.retryable) return undefined;
        // Refused before processing: safe to resend even a write that is not idempotent.
        const refused = error.status === 429 || error.status === 401 || error.code === 'REQUEST_LIMIT_EXCEEDED' || (error.status === 503 && error.retryAfterMs !== undefined);
        if (!refused && !idempotent) return undefined;
        return retryDelay(this.policy, retriesConsumed, error.retryAfterMs);
      },
      onRetry: ({ error, attempt, delayMs }) => {
        const failure = error as CrmApiError;
        this.logger.debug({ api: 'salesforce', method: request.method, route: request.route, status: failure.status, code: failure.code, attempt, delayMs }, 'retrying Salesforce call');
      },
    });
  }

  private async attempt(request: SalesforceRequest, operation: string, attempt: number): Promise<unknown> {
    let observation: Observation | undefined;
    const observe: Observer = (seen) => {
      observation = seen;
      this.options.onCall?.({
        api: 'salesforce',
        method: request.method,
        route: request.route,
        status: seen.error === undefined && seen.status !== undefined ? seen.status : 'network-error',
        durationMs: seen.durationMs,
        attempt,
      });
      this.usage.observe(seen.headers?.['sforce-limit-info']);
    };
    const options: ObservedOptions = { retry: NO_LIBRARY_RETRIES, timeout: this.timeoutMs, [OBSERVE]: observe };
    const http: HttpRequest = {
      method: request.method,
      url: request.path,
      headers: { accept: 'application/json', ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    };
    try {
      return await this.conn.request<unknown>(http, options);
    } catch (raw) {
      throw toCrmError(raw, observation, operation);
    }
  }

  /** `send` plus zod parsing, so only typed values leave this layer. */
  async sendParsed<S extends z.ZodType>(request: SalesforceRequest, schema: S): Promise<z.output<S>> {
    return parseBody(schema, await this.send(request), `${request.method} ${request.route}`);
  }

  /**
   * Every row of a SOQL query, following `nextRecordsUrl` (REST API "Query"). `all` uses queryAll, which includes
   * deleted (recycle bin) rows. `tooling` queries the Tooling API.
   */
  async query(soql: string, options: { route: string; all?: boolean; tooling?: boolean; maxRows?: number; lane?: CallLane }): Promise<Array<Record<string, unknown>>> {
    const base = `${options.tooling ? '/tooling' : ''}/${options.all ? 'queryAll' : 'query'}`;
    const rows: Array<Record<string, unknown>> = [];
    const lane = options.lane ? { lane: options.lane } : {};
    let page = await this.sendParsed({ method: 'GET', path: `${base}?q=${encodeURIComponent(soql)}`, route: `${base.slice(1)} ${options.route}`, ...lane }, pageSchema);
    for (;;) {
      rows.push(...page.records);
      if (page.done || !page.nextRecordsUrl || (options.maxRows !== undefined && rows.length >= options.maxRows)) return rows;
      page = await this.sendParsed({ method: 'GET', path: page.nextRecordsUrl, route: `${base.slice(1)}/{locator} ${options.route}`, ...lane }, pageSchema);
    }
  }

  /**
   * Wraps the connection's transport so each HTTP attempt reports its status, headers and duration to the observer
   * passed in that request's options (jsforce passes request options through to the transport unchanged). Wrapping the
   * instance avoids a deep import of jsforce's Transport class, which the package does not export.
   */
  private observeTransport(): void {
    const transport = this.conn._transport;
    const send = transport.httpRequest.bind(transport);
    transport.httpRequest = (request: HttpRequest, options?: HttpRequestOptions) => {
      const started = performance.now();
      const pending = send(request, options);
      const observe = (options as ObservedOptions | undefined)?.[OBSERVE];
      if (observe) {
        pending.then(
          (response: HttpResponse) => observe({ status: response.statusCode, headers: response.headers, durationMs: performance.now() - started }),
          (error: unknown) => observe({ error, durationMs: performance.now() - started }),
        );
      }
      return pending;
    };
  }
}

export function parseBody<S extends z.ZodType>(schema: S, raw: unknown, operation: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  throw new CrmApiError(`Salesforce ${operation} returned an unexpected body${where}: ${issue?.message ?? 'invalid'}`, undefined, 'invalidResponse', false);
}
