import { randomUUID } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import type { CallRecorder } from '../http/call-record.ts';
import { outboundDispatcher, outboundTimeouts } from '../http/outbound.ts';
import { redactSecrets } from '../http/redact.ts';
import { parseRetryAfter, retryDelay, withRetries, type RetryPolicy } from '../http/retry.ts';
import { describeTimeout, phaseLimit, timeoutPhaseOf, type TimeoutPhase } from '../http/timeout-phase.ts';
import type { TokenProvider } from '../http/tokens.ts';
import { describeIssues } from '../util/describe-issues.ts';
import type { Logger } from '../util/logger.ts';
import { PartnerCenterApiError, readErrorBody } from './api-error.ts';

/*
 * The JSON caller shared by the Referrals and Webhooks clients.
 *
 * undici's `request` rather than global fetch: its errors keep Node's socket error codes (ECONNREFUSED vs
 * ECONNRESET/UND_ERR_SOCKET), and that difference decides whether a POST may be retried — fetch folds all of them into
 * one `TypeError('fetch failed')`. It is also the client fetch is built on, with less overhead per call.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 5, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 120_000, timeoutRetries: 1 };

export interface ApiHttpClientOptions {
  /** Metric/log label, e.g. `referrals`. */
  api: string;
  baseUrl: string;
  tokenProvider: TokenProvider;
  /** Whole attempt, on top of the connect / headers / body limits of `outboundTimeouts()`. Default 60 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  onCall?: CallRecorder;
  /** Extra headers carrying the per-call request id, e.g. `MS-RequestId` for the classic Partner Center API. */
  requestIdHeaders?: readonly string[];
  /** Default: `outboundDispatcher()` (the configured timeouts and proxy). */
  dispatcher?: Dispatcher;
  logger?: Logger;
}

export interface ApiRequest {
  method: HttpMethod;
  /** Path (and query) below the base URL's origin, starting with `/`; or an absolute URL on the same origin. */
  path: string;
  /** Metric label; derived from `path` when omitted. */
  route?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Defaults to `method !== 'POST'`. Decides which failures may be retried (see `isRetryable`). */
  idempotent?: boolean;
  signal?: AbortSignal;
}

export interface ApiResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Parsed JSON; `undefined` for an empty body. */
  body: unknown;
  requestId: string | undefined;
  clientRequestId: string;
  /** 1 unless earlier attempts failed and were retried. */
  attempts: number;
}

const MAX_API_MESSAGE = 1024;
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
/** The connection was never established, so the request cannot have reached the service. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Our codes for an attempt that ran out of time; `connectTimeout` never reached the service. */
const TIMEOUT_CODES = new Set(['timeout', 'connectTimeout']);

export class ApiHttpClient {
  readonly api: string;
  readonly baseUrl: URL;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;

  constructor(private readonly options: ApiHttpClientOptions) {
    this.api = options.api;
    this.baseUrl = new URL(options.baseUrl);
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Resolves a request path against the base URL; absolute URLs must stay on the configured origin. */
  resolve(path: string): URL {
    if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
      const url = new URL(path);
      if (url.origin !== this.baseUrl.origin) {
        throw new Error(`refusing to send a ${this.api} API request to ${url.origin}: only ${this.baseUrl.origin} is configured`);
      }
      return url;
    }
    if (!path.startsWith('/')) throw new Error(`request path must start with "/": ${path}`);
    const prefix = this.baseUrl.pathname.replace(/\/+$/, '');
    return new URL(`${this.baseUrl.origin}${prefix}${path}`);
  }

  /**
   * Sends one logical call, retrying transient failures. Every attempt carries the same `client-request-id`: a retry
   * is the same operation, and one id lets Microsoft support correlate its attempts (the classic API even documents
   * its request id as the idempotency key to reuse on a timeout retry). Non-2xx responses throw PartnerCenterApiError.
   */
  async send(req: ApiRequest): Promise<ApiResponse> {
    const url = this.resolve(req.path);
    const route = req.route ?? templateRoute(url.pathname);
    const idempotent = req.idempotent ?? req.method !== 'POST';
    const clientRequestId = randomUUID();
    let tokenRefreshed = false;

    return withRetries((attempt) => this.attempt(req, url, route, idempotent, clientRequestId, attempt), {
      policy: this.policy,
      signal: req.signal,
      timedOut: (error) => error instanceof PartnerCenterApiError && TIMEOUT_CODES.has(error.code),
      delayAfter: (error, retriesConsumed) => {
        if (!(error instanceof PartnerCenterApiError)) return undefined;
        // One fresh token per call: a 401 after a refresh means the credentials themselves are wrong.
        if (error.status === 401 && !tokenRefreshed && this.options.tokenProvider.invalidate) {
          tokenRefreshed = true;
          this.options.tokenProvider.invalidate();
          return 0;
        }
        return isRetryable(error, idempotent) ? retryDelay(this.policy, retriesConsumed, error.retryAfterMs) : undefined;
      },
      onRetry: ({ error, attempt, delayMs }) => {
        const failure = error as PartnerCenterApiError;
        this.options.logger?.debug(
          { api: this.api, method: req.method, route, status: failure.status, code: failure.code, attempt, delayMs, clientRequestId },
          'retrying Partner Center call',
        );
      },
    });
  }

  /** `send` plus zod parsing of the body, so only typed values leave this layer. */
  async sendParsed<S extends z.ZodType>(req: ApiRequest, schema: S): Promise<{ response: ApiResponse; data: z.output<S> }> {
    const response = await this.send(req);
    return { response, data: this.parse(schema, response, req) };
  }

  parse<S extends z.ZodType>(schema: S, response: ApiResponse, req: Pick<ApiRequest, 'method' | 'path' | 'route'>): z.output<S> {
    const parsed = schema.safeParse(response.body);
    if (parsed.success) return parsed.data;
    throw new PartnerCenterApiError({
      api: this.api,
      method: req.method,
      route: req.route ?? templateRoute(this.resolve(req.path).pathname),
      status: response.status,
      code: 'invalidResponse',
      apiMessage: cap(`unexpected response body: ${describeIssues(parsed.error)}`),
      requestId: response.requestId,
      clientRequestId: response.clientRequestId,
      retryable: false,
      outcomeUnknown: false,
      attempts: response.attempts,
    });
  }

  private async attempt(
    req: ApiRequest,
    url: URL,
    route: string,
    idempotent: boolean,
    clientRequestId: string,
    attempt: number,
  ): Promise<ApiResponse> {
    const token = await this.options.tokenProvider.getToken();
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...lowerCaseKeys(req.headers ?? {}),
      authorization: `Bearer ${token}`,
      'client-request-id': clientRequestId,
    };
    for (const name of this.options.requestIdHeaders ?? []) headers[name.toLowerCase()] = clientRequestId;
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }

    const base = { api: this.api, method: req.method, route, clientRequestId, attempts: attempt };
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const started = performance.now();
    const record = (status: number | 'network-error') =>
      this.options.onCall?.({ api: this.api, method: req.method, route, status, durationMs: performance.now() - started, attempt });

    let status: number;
    let responseHeaders: Record<string, string>;
    let text: string;
    // Which phase a timeout cut short: the whole-attempt limit names it by where the exchange was.
    let pending: 'headers' | 'body' = 'headers';
    try {
      const response = await request(url, {
        method: req.method,
        headers,
        body,
        signal,
        dispatcher: this.options.dispatcher ?? outboundDispatcher(),
      });
      pending = 'body';
      status = response.statusCode;
      responseHeaders = flattenHeaders(response.headers);
      text = await response.body.text();
    } catch (error) {
      record('network-error');
      // The caller's own cancellation is not a failure of the API: let it through untouched, unretried.
      if (req.signal?.aborted) throw req.signal.reason;
      const phase = timeoutPhaseOf(error) ?? (timeout.aborted ? pending : undefined);
      const timedOut = phase === undefined ? undefined : { phase, afterMs: timeout.aborted ? this.timeoutMs : phaseLimit(phase, outboundTimeouts()) };
      throw networkError(error, { ...base, url, timedOut, idempotent, token });
    }
    record(status);

    const requestId = responseHeaders['request-id'] ?? responseHeaders['ms-requestid'];
    let json: unknown;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        if (status >= 200 && status < 300) {
          throw new PartnerCenterApiError({
            ...base,
            status,
            code: 'invalidJson',
            apiMessage: cap(`response body is not valid JSON: ${redactSecrets(text.slice(0, 200), [token])}`),
            requestId,
            retryable: false,
            outcomeUnknown: false,
          });
        }
        json = text;
      }
    }

    if (status >= 200 && status < 300) return { status, headers: responseHeaders, body: json, requestId, clientRequestId, attempts: attempt };

    const detail = readErrorBody(json);
    const retryAfterMs = parseRetryAfter(responseHeaders['retry-after']);
    const transient = RETRYABLE_STATUSES.has(status);
    throw new PartnerCenterApiError({
      ...base,
      status,
      code: detail.code ?? 'httpError',
      apiMessage: cap(redactSecrets(detail.message ?? `HTTP ${status}`, [token])),
      target: detail.target,
      innerError: detail.innerError,
      requestId,
      retryable: transient,
      // 429 and 503-with-Retry-After are refusals before processing; other 5xx may come after the work was done.
      outcomeUnknown: !idempotent && transient && status !== 429 && !(status === 503 && retryAfterMs !== undefined),
      retryAfterMs,
    });
  }
}

/**
 * Whether this failure may be retried for a request of this kind. A POST (create) is not idempotent: after a timeout,
 * a reset or a 5xx the service may already have created the referral, and sending it again would create a duplicate.
 * It is retried only when the service certainly did not act: 429 and 503-with-Retry-After (refused before
 * processing) and connections that were never established.
 */
export function isRetryable(error: PartnerCenterApiError, idempotent: boolean): boolean {
  if (!error.retryable) return false;
  if (idempotent) return true;
  if (error.code === 'connectionRefused' || error.code === 'connectTimeout') return true;
  if (error.status === 429) return true;
  return error.status === 503 && error.retryAfterMs !== undefined;
}

/**
 * Replaces path segments that look like identifiers (GUIDs, numbers, anything with a digit and 8+ characters) with
 * `{id}` and drops the query, so metric labels do not grow with the number of referrals.
 */
export function templateRoute(pathname: string): string {
  return pathname
    .split('/')
    .map((segment) => (looksLikeId(segment) ? '{id}' : segment))
    .join('/');
}

function looksLikeId(segment: string): boolean {
  if (segment === '' || /^v\d+(\.\d+)?$/i.test(segment)) return false;
  if (/^\d+$/.test(segment)) return true;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(segment)) return true;
  return segment.length >= 8 && /\d/.test(segment);
}

function networkError(
  error: unknown,
  context: {
    api: string;
    method: string;
    route: string;
    url: URL;
    clientRequestId: string;
    attempts: number;
    timedOut: { phase: TimeoutPhase; afterMs: number } | undefined;
    idempotent: boolean;
    token: string;
  },
): PartnerCenterApiError {
  const errorCode = (error as { code?: unknown } | null)?.code;
  const connectTimeout = context.timedOut?.phase === 'connect';
  const refused = connectTimeout || (typeof errorCode === 'string' && NOT_SENT_CODES.has(errorCode));
  const code = connectTimeout ? 'connectTimeout' : context.timedOut ? 'timeout' : refused ? 'connectionRefused' : 'networkError';
  const message = context.timedOut
    ? describeTimeout('partner center', context.url, context.timedOut.phase, context.timedOut.afterMs)
    : `${typeof errorCode === 'string' ? `${errorCode}: ` : ''}${error instanceof Error ? error.message : String(error)}`;
  return new PartnerCenterApiError({
    api: context.api,
    method: context.method,
    route: context.route,
    clientRequestId: context.clientRequestId,
    attempts: context.attempts,
    status: 'network-error',
    code,
    apiMessage: cap(redactSecrets(message, [context.token])),
    retryable: true,
    outcomeUnknown: !context.idempotent && !refused,
  });
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function cap(text: string): string {
  return text.length > MAX_API_MESSAGE ? `${text.slice(0, MAX_API_MESSAGE)}…` : text;
}
