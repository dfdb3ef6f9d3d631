import { DynamicsWebApi } from 'dynamics-web-api';
import type { CrmApiError } from '../connector.ts';
import type { CallRecorder } from '../../http/call-record.ts';
import { proxyUrlFor, wholeReadLimit } from '../../http/outbound.ts';
import { retryDelay, withRetries, type RetryPolicy } from '../../http/retry.ts';
import type { TokenProvider } from '../../http/tokens.ts';
import type { Logger } from '../../util/logger.ts';
import { readFailure, toCrmApiError } from './dataverse-errors.ts';
import type { RequestBudget } from './request-budget.ts';

export const DEFAULT_DATAVERSE_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 500, maxDelayMs: 10_000, maxRetryAfterMs: 60_000, timeoutRetries: 1 };

export interface DataverseClientOptions {
  /** Environment URL, e.g. `https://contoso.crm.dynamics.com` (or the sandbox's URL). */
  orgUrl: string;
  tokenProvider: TokenProvider;
  logger: Logger;
  /** Per attempt. Default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /**
   * Every HTTP attempt. dynamics-web-api hands back parsed data only, so on success the status is the one Dataverse
   * documents for the operation as sent (`DataverseOperation.successStatus`) rather than one read off the wire.
   */
  onCall?: CallRecorder;
  /** Paces requests under Dataverse's per-user window (see RequestBudget); absent: no pacing. */
  budget?: RequestBudget | undefined;
}

export interface DataverseOperation {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Metric label and error context: a template without ids or key values. */
  route: string;
  /** Reads are retried on 5xx/network failures; writes only when Dataverse certainly did not act (429, 503 + Retry-After). */
  idempotent?: boolean;
  successStatus?: number;
}

/**
 * dynamics-web-api plus what it leaves to the caller (its README): it never retries (maintainer's choice,
 * DynamicsWebApi issue #101) and reports failures as loosely typed Errors. Every call goes through `run`, which times
 * each attempt, reports it, honours Retry-After within bounds, refreshes a rejected token once, and converts failures
 * to CrmApiError.
 */
export class DataverseClient {
  readonly api: DynamicsWebApi;
  /** `https://org.crm.dynamics.com/api/data/v9.2/`, the prefix of every URL Dataverse hands back (next/delta links). */
  readonly dataApiUrl: string;
  private readonly policy: RetryPolicy;
  private readonly budget: RequestBudget | undefined;
  readonly timeoutMs: number;

  constructor(private readonly options: DataverseClientOptions) {
    const serverUrl = options.orgUrl.replace(/\/+$/, '') + '/';
    this.dataApiUrl = new URL('api/data/v9.2/', serverUrl).toString();
    this.policy = { ...DEFAULT_DATAVERSE_RETRY, ...options.retry };
    this.budget = options.budget;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const tokenProvider = options.tokenProvider;
    // dynamics-web-api runs on node:http, out of reach of the undici dispatcher, so it is handed the proxy that the
    // dispatcher would use for this host (HTTPS_PROXY / NO_PROXY). patches/dynamics-web-api+2.5.0.patch removes two
    // things of its src/client/http.ts that break this: it sent the proxy's host as the Host header to Dataverse (which
    // cannot route it), and it read a lower-case `https_proxy` on its own, ignoring NO_PROXY.
    const proxyUrl = proxyUrlFor(serverUrl);
    this.api = new DynamicsWebApi({
      serverUrl,
      ...(proxyUrl ? { proxy: { url: proxyUrl } } : {}),
      dataApi: { version: '9.2' },
      // Called before every request; the provider caches, so this costs nothing between refreshes.
      onTokenRefresh: () => tokenProvider.getToken(),
      // v2.5's opt-out of the legacy behaviour that turned 404/412 on update/upsert into `false`/`null` (issues #203/#204):
      // a failed conditional write must reach us as an error.
      propagateErrors: true,
      // "Compose HTTP requests and handle errors" lists it among the headers every request should carry: it stops a
      // cache in between from answering a GET of expanded collections. Requests that need a real condition
      // (`If-None-Match: *`) override it.
      headers: { 'If-None-Match': 'null' },
    });
  }

  get logger(): Logger {
    return this.options.logger;
  }

  async run<T>(operation: DataverseOperation, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const idempotent = operation.idempotent ?? operation.method === 'GET';
    let tokenRefreshed = false;
    return withRetries((attempt) => this.attempt(operation, send, attempt), {
      policy: this.policy,
      timedOut: (error) => (error as CrmApiError).code === 'timeout',
      delayAfter: (raw, retriesConsumed) => {
        const error = raw as CrmApiError;
        if (error.status === 401 && !tokenRefreshed && this.options.tokenProvider.invalidate) {
          tokenRefreshed = true;
          this.options.tokenProvider.invalidate();
          return 0;
        }
        // Refused before processing: safe to resend even a create.
        const refused = error.status === 429 || (error.status === 503 && error.retryAfterMs !== undefined);
        if (!refused && !(idempotent && error.retryable)) return undefined;
        return retryDelay(this.policy, retriesConsumed, error.retryAfterMs);
      },
      onRetry: ({ error, attempt, delayMs }) => {
        const failure = error as CrmApiError;
        this.options.logger.debug(
          { api: 'dataverse', method: operation.method, route: operation.route, status: failure.status, code: failure.code, attempt, delayMs },
          'retrying Dataverse call',
        );
      },
    });
  }

  private async attempt<T>(operation: DataverseOperation, send: (signal: AbortSignal) => Promise<T>, attempt: number): Promise<T> {
    // Before the timeout starts: waiting for room in the window is not the call taking long.
    await this.budget?.take();
    const limitMs = operation.method === 'GET' ? wholeReadLimit(this.timeoutMs) : this.timeoutMs;
    const timeout = AbortSignal.timeout(limitMs);
    const started = performance.now();
    try {
      const result = await send(timeout);
      this.record(operation, attempt, started, operation.successStatus ?? (operation.method === 'GET' ? 200 : 204));
      return result;
    } catch (raw) {
      const failure = readFailure(raw);
      this.record(operation, attempt, started, failure.status ?? 'network-error');
      throw toCrmApiError(failure, `${operation.method} ${operation.route}`, { timedOut: timeout.aborted, host: this.host, timeoutMs: limitMs });
    }
  }

  /** Where a link Dataverse returned (next page, delta) points, relative to the data API as the library expects. */
  relativeLink(link: string): string {
    if (link.startsWith(this.dataApiUrl)) return link.slice(this.dataApiUrl.length);
    // A link minted under another host spelling (localhost vs 127.0.0.1, a regional alias) still names the same path.
    const marker = /\/api\/data\/v\d+(\.\d+)?\//i.exec(link);
    return marker ? link.slice(marker.index + marker[0].length) : link;
  }

  private get host(): string {
    return new URL(this.dataApiUrl).host;
  }

  private record(operation: DataverseOperation, attempt: number, started: number, status: number | 'network-error'): void {
    this.options.onCall?.({
      api: 'dataverse',
      method: operation.method,
      route: operation.route,
      status,
      durationMs: performance.now() - started,
      attempt,
    });
  }
}
