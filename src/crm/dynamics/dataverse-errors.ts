import { CrmApiError, CrmPreconditionFailedError } from '../connector.ts';
import { parseRetryAfter } from '../../http/retry.ts';
import { describeTimeout } from '../../http/timeout-phase.ts';

/*
 * dynamics-web-api rejects with a plain Error carrying the Dataverse error body's `code` and `message` plus `status`
 * and the response `headers` (dynamics-web-api README); socket failures are Node errors with an errno `code` and no
 * status. This module turns both into the neutral CrmApiError so nothing above the connector sees the library's shapes.
 */

const MAX_MESSAGE = 1000;

/** What the library attaches to an HTTP failure; every property is optional because network errors have none of them. */
export interface RawDataverseFailure {
  status: number | undefined;
  code: string | undefined;
  message: string;
  retryAfterMs: number | undefined;
}

export function readFailure(error: unknown): RawDataverseFailure {
  if (typeof error !== 'object' || error === null) return { status: undefined, code: undefined, message: String(error), retryAfterMs: undefined };
  const record = error as Record<string, unknown>;
  const status = typeof record.status === 'number' ? record.status : undefined;
  const code = typeof record.code === 'string' && record.code !== '' ? record.code : undefined;
  const message = typeof record.message === 'string' && record.message !== '' ? record.message : status ? `HTTP ${status}` : 'request failed';
  const headers = typeof record.headers === 'object' && record.headers !== null ? (record.headers as Record<string, unknown>) : {};
  const retryAfter = headers['retry-after'] ?? headers['Retry-After'];
  return { status, code, message, retryAfterMs: typeof retryAfter === 'string' ? parseRetryAfter(retryAfter) : undefined };
}

export function isTransientStatus(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}

/**
 * `timedOut`: our per-attempt limit aborted the request. dynamics-web-api buffers the whole exchange, so the phase it
 * was in is unknown: the message names the host and the limit.
 */
export function toCrmApiError(failure: RawDataverseFailure, operation: string, options: { timedOut?: boolean; host?: string; timeoutMs?: number } = {}): CrmApiError {
  const what = options.timedOut
    ? options.host && options.timeoutMs
      ? describeTimeout('dataverse', `https://${options.host}`, 'response', options.timeoutMs)
      : 'no response within the timeout'
    : failure.message;
  const detail = options.timedOut ? 'timeout' : failure.status !== undefined ? `${failure.status}${failure.code ? ` ${failure.code}` : ''}` : (failure.code ?? 'network error');
  const message = `Dataverse ${operation} failed (${detail}): ${what}`;
  return new CrmApiError(
    message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message,
    failure.status,
    options.timedOut ? 'timeout' : failure.code,
    options.timedOut === true || isTransientStatus(failure.status),
    failure.retryAfterMs,
  );
}

export function isNotFound(error: unknown): boolean {
  return error instanceof CrmApiError && error.status === 404;
}

export function isPreconditionFailed(error: unknown): boolean {
  return error instanceof CrmApiError && error.status === 412;
}

/** 412 on a conditional update means the row changed since the version the engine planned against. */
export function preconditionFailed(operation: string, cause: CrmApiError): CrmPreconditionFailedError {
  return new CrmPreconditionFailedError(`Dataverse ${operation}: the record changed since it was read (${cause.message})`, { cause });
}
