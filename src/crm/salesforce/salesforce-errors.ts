import { z } from 'zod';
import { CrmApiError, CrmPreconditionFailedError } from '../connector.ts';
import { parseRetryAfter } from '../../http/retry.ts';

/*
 * Salesforce failures → the neutral errors (REST API "Status Codes and Error Responses": the body is an array of `{
 * message, errorCode, fields }`). jsforce throws an HttpApiError with `errorCode` and `data` but no HTTP status, so the
 * status comes from what the transport observed for the same request.
 *
 * Retryable: network failures and timeouts, 5xx, 429, UNABLE_TO_LOCK_ROW (a row lock held by another transaction), 401
 * (a session revoked between jsforce's refresh and the retry), and REQUEST_LIMIT_EXCEEDED — the daily allocation ("API
 * Request Limits and Allocations"), which Salesforce reports as a 403 without Retry-After: it only recovers as the
 * rolling 24 h window moves on, so it is retryable after DAILY_LIMIT_RETRY_MS, long enough not to burn attempts, short
 * enough to resume the same day. Everything else (validation, missing fields, bad ids) is the record's problem and goes
 * to dead letters with the API's message.
 */

export const DAILY_LIMIT_RETRY_MS = 30 * 60_000;
const MAX_MESSAGE = 1000;

export const errorEntrySchema = z.looseObject({ message: z.string().optional(), errorCode: z.string().optional(), statusCode: z.string().optional(), fields: z.array(z.string()).nullish() });
export type ErrorEntry = z.output<typeof errorEntrySchema>;

/** What the transport saw for one HTTP attempt. */
export interface Observation {
  status?: number;
  headers?: Record<string, string>;
  error?: unknown;
}

const RETRYABLE_CODES: ReadonlySet<string> = new Set(['UNABLE_TO_LOCK_ROW', 'REQUEST_LIMIT_EXCEEDED', 'SERVER_UNAVAILABLE']);

export function isRetryable(status: number | undefined, code: string | undefined): boolean {
  if (code !== undefined && RETRYABLE_CODES.has(code)) return true;
  return status === undefined || status === 401 || status === 429 || status >= 500;
}

function cap(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

/** The entries of an error body in any of the shapes jsforce hands back (one entry, an array, MULTIPLE_API_ERRORS). */
function entriesOf(raw: unknown): ErrorEntry[] {
  if (typeof raw !== 'object' || raw === null) return [];
  const data = (raw as { data?: unknown }).data;
  for (const candidate of [data, raw]) {
    const many = z.array(errorEntrySchema).safeParse(candidate);
    if (many.success && many.data.length > 0) return many.data;
  }
  const one = errorEntrySchema.safeParse(data);
  if (one.success && (one.data.message !== undefined || one.data.errorCode !== undefined)) return [one.data];
  const own = raw as { errorCode?: unknown; message?: unknown };
  return [{ errorCode: typeof own.errorCode === 'string' ? own.errorCode : undefined, message: typeof own.message === 'string' ? own.message : undefined }];
}

export function describeEntries(entries: readonly ErrorEntry[]): { code: string | undefined; message: string } {
  const code = entries[0]?.errorCode ?? entries[0]?.statusCode;
  const message = entries
    .map((entry) => `${entry.message ?? 'error'}${entry.fields && entry.fields.length > 0 ? ` (${entry.fields.join(', ')})` : ''}`)
    .join('; ');
  return { code, message };
}

export function errorFromEntries(
  operation: string,
  status: number | undefined,
  entries: readonly ErrorEntry[],
  headers: Record<string, string> = {},
): CrmApiError | CrmPreconditionFailedError {
  if (status === 412) return new CrmPreconditionFailedError(`Salesforce ${operation}: the record changed since it was read (${describeEntries(entries).message})`);
  return apiError(operation, status, entries, headers);
}

/** The CrmApiError for an error body (a 412 too, where the caller is not doing a conditional write). */
export function apiError(operation: string, status: number | undefined, entries: readonly ErrorEntry[], headers: Record<string, string> = {}): CrmApiError {
  const { code, message } = describeEntries(entries);
  const detail = status !== undefined ? `${status}${code ? ` ${code}` : ''}` : (code ?? 'network error');
  const text = cap(`Salesforce ${operation} failed (${detail}): ${message || 'no message'}`);
  const retryAfterMs = code === 'REQUEST_LIMIT_EXCEEDED' ? DAILY_LIMIT_RETRY_MS : parseRetryAfter(headers['retry-after']);
  return new CrmApiError(text, status, code, isRetryable(status, code), retryAfterMs);
}

/** A jsforce rejection plus what the transport observed → CrmApiError (or CrmPreconditionFailedError for 412). */
export function toCrmError(raw: unknown, observation: Observation | undefined, operation: string): CrmApiError | CrmPreconditionFailedError {
  if (raw instanceof CrmApiError || raw instanceof CrmPreconditionFailedError) return raw;
  const status = observation?.error === undefined ? observation?.status : undefined;
  if (status === undefined) {
    const reason = raw instanceof Error ? raw.message : String(raw);
    const code = typeof raw === 'object' && raw !== null && typeof (raw as { code?: unknown }).code === 'string' ? (raw as { code: string }).code : 'network';
    return new CrmApiError(cap(`Salesforce ${operation} failed (no response): ${reason}`), undefined, code, true);
  }
  return errorFromEntries(operation, status, entriesOf(raw), observation?.headers);
}

export function isNotFound(error: unknown): boolean {
  return error instanceof CrmApiError && error.status === 404;
}
