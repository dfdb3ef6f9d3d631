/*
 * Errors of the Partner Center APIs, whose documented body is { error: { code, message, target?, innerError? } }.
 */

export interface PartnerCenterApiErrorInit {
  api: string;
  method: string;
  route: string;
  /** HTTP status, or `network-error` when no response arrived (refused, reset, timeout). */
  status: number | 'network-error';
  /** The documented `error.code`, else a code of ours: networkError, timeout, connectionRefused, invalidJson, invalidResponse, httpError. */
  code: string;
  /** The API's (or network layer's) message, capped at 1024 characters, bearer token removed. */
  apiMessage: string;
  target?: string | undefined;
  innerError?: unknown;
  requestId?: string | undefined;
  clientRequestId: string;
  /** The failure is transient: trying again later may succeed. */
  retryable: boolean;
  /**
   * A non-idempotent request may have been carried out although we got no success response (timeout, reset, 5xx).
   * Look for the result (e.g. a referral by externalReferenceId) before sending it again.
   */
  outcomeUnknown: boolean;
  retryAfterMs?: number | undefined;
  attempts: number;
}

/** A failed Partner Center call. Never carries the bearer token: requests' headers are not kept and messages are redacted. */
export class PartnerCenterApiError extends Error implements PartnerCenterApiErrorInit {
  override readonly name: string = 'PartnerCenterApiError';
  readonly api: string;
  readonly method: string;
  readonly route: string;
  readonly status: number | 'network-error';
  readonly code: string;
  readonly apiMessage: string;
  readonly target: string | undefined;
  readonly innerError: unknown;
  readonly requestId: string | undefined;
  readonly clientRequestId: string;
  readonly retryable: boolean;
  readonly outcomeUnknown: boolean;
  readonly retryAfterMs: number | undefined;
  readonly attempts: number;

  constructor(init: PartnerCenterApiErrorInit) {
    super(`Partner Center ${init.api} API ${init.method} ${init.route} failed (${init.status} ${init.code}): ${init.apiMessage}`);
    this.api = init.api;
    this.method = init.method;
    this.route = init.route;
    this.status = init.status;
    this.code = init.code;
    this.apiMessage = init.apiMessage;
    this.target = init.target;
    this.innerError = init.innerError;
    this.requestId = init.requestId;
    this.clientRequestId = init.clientRequestId;
    this.retryable = init.retryable;
    this.outcomeUnknown = init.outcomeUnknown;
    this.retryAfterMs = init.retryAfterMs;
    this.attempts = init.attempts;
  }
}

export interface ErrorDetail {
  code?: string | undefined;
  message?: string | undefined;
  target?: string | undefined;
  innerError?: unknown;
}

/** The documented `{ error: { code, message, target?, innerError? } }`, plus the other shapes gateways produce. */
export function readErrorBody(body: unknown): ErrorDetail {
  if (typeof body === 'string') return { message: body };
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const nested = pick(record, 'error');
  if (typeof nested === 'object' && nested !== null && !Array.isArray(nested)) {
    const error = nested as Record<string, unknown>;
    return {
      code: stringOrUndefined(pick(error, 'code')),
      message: stringOrUndefined(pick(error, 'message')),
      target: stringOrUndefined(pick(error, 'target')),
      innerError: pick(error, 'innerError'),
    };
  }
  return {
    code: stringOrUndefined(pick(record, 'code')) ?? stringOrUndefined(nested),
    message:
      stringOrUndefined(pick(record, 'message')) ??
      stringOrUndefined(pick(record, 'description')) ??
      stringOrUndefined(pick(record, 'error_description')),
  };
}

function pick(record: Record<string, unknown>, key: string): unknown {
  const lower = key.toLowerCase();
  const found = Object.keys(record).find((candidate) => candidate.toLowerCase() === lower);
  return found === undefined ? undefined : record[found];
}

function stringOrUndefined(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}
