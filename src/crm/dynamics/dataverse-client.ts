import { setTimeout as sleep } from 'node:timers/promises';
import { DynamicsWebApi } from 'dynamics-web-api';
import type { CrmApiError } from '../connector.ts';
import { backoffDelay, type ApiCallRecord } from '../../partner-center/http.ts';
import type { TokenProvider } from '../../partner-center/tokens.ts';
import type { Logger } from '../../util/logger.ts';
import { readFailure, toCrmApiError } from './dataverse-errors.ts';

export interface DataverseRetryPolicy {
  /** Retries after the first attempt, for throttling (429 / 503 + Retry-After) and, on reads, transient failures. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not slept on in-process: the error goes up with `retryAfterMs` for the queue. */
  maxRetryAfterMs: number;
}

export const DEFAULT_DATAVERSE_RETRY: DataverseRetryPolicy = { retries: 3, baseDelayMs: 500, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 };

export interface DataverseClientOptions {
  /** Environment URL, e.g. `https://contoso.crm.dynamics.com` (or the sandbox's URL). */
  orgUrl: string;
  tokenProvider: TokenProvider;
  logger: Logger;
  /** Per attempt. Default 30 s. */
  timeoutMs?: number;
  retry?: Partial<DataverseRetryPolicy>;
  /**
   * Every HTTP attempt (`api: 'dataverse'`, `route` a template such as `opportunities({id})`, never a record id).
   * dynamics-web-api hands back parsed data only, so on success `status` is the one Dataverse documents for the
   * operation as sent (see `DataverseOperation.successStatus`) rather than one read off the wire.
   */
  onCall?: (call: ApiCallRecord) => void;
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
  private readonly policy: DataverseRetryPolicy;
  readonly timeoutMs: number;

  constructor(private readonly options: DataverseClientOptions) {
    const serverUrl = options.orgUrl.replace(/\/+$/, '') + '/';
    this.dataApiUrl = new URL('api/data/v9.2/', serverUrl).toString();
    this.policy = { ...DEFAULT_DATAVERSE_RETRY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const tokenProvider = options.tokenProvider;
    this.api = new DynamicsWebApi({
      serverUrl,
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
    for (let attempt = 1; ; attempt += 1) {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const started = performance.now();
      try {
        const result = await send(timeout);
        this.record(operation, attempt, started, operation.successStatus ?? (operation.method === 'GET' ? 200 : 204));
        return result;
      } catch (raw) {
        const failure = readFailure(raw);
        this.record(operation, attempt, started, failure.status ?? 'network-error');
        const error = toCrmApiError(failure, `${operation.method} ${operation.route}`, { timedOut: timeout.aborted });
        if (error.status === 401 && !tokenRefreshed && this.options.tokenProvider.invalidate) {
          tokenRefreshed = true;
          this.options.tokenProvider.invalidate();
          continue;
        }
        const delayMs = this.retryDelay(error, idempotent, attempt);
        if (delayMs === undefined) throw error;
        this.options.logger.debug(
          { api: 'dataverse', method: operation.method, route: operation.route, status: error.status, code: error.code, attempt, delayMs },
          'retrying Dataverse call',
        );
        await sleep(delayMs);
      }
    }
  }

  /** Where a link Dataverse returned (next page, delta) points, relative to the data API as the library expects. */
  relativeLink(link: string): string {
    if (link.startsWith(this.dataApiUrl)) return link.slice(this.dataApiUrl.length);
    // A link minted under another host spelling (localhost vs 127.0.0.1, a regional alias) still names the same path.
    const marker = /\/api\/data\/v\d+(\.\d+)?\//i.exec(link);
    return marker ? link.slice(marker.index + marker[0].length) : link;
  }

  private retryDelay(error: CrmApiError, idempotent: boolean, attempt: number): number | undefined {
    if (attempt > this.policy.retries) return undefined;
    // Refused before processing: safe to resend even a create.
    const refused = error.status === 429 || (error.status === 503 && error.retryAfterMs !== undefined);
    if (!refused && !(idempotent && error.retryable)) return undefined;
    const delayMs = error.retryAfterMs ?? backoffDelay(attempt - 1, this.policy);
    return delayMs > this.policy.maxRetryAfterMs ? undefined : delayMs;
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
