import { createHash } from 'node:crypto';
import type { StoredRecord } from '../data/record-store.ts';
import { ErrorCode, SalesforceError } from '../errors.ts';

/**
 * HTTP dates have whole seconds, so the record's last-modified instant is compared at that granularity (REST API
 * "Conditional Requests").
 */
function lastModifiedSeconds(record: StoredRecord): number {
  return Math.floor(Number(record.values.LastModifiedDate ?? 0) / 1000);
}

function parseHttpDate(value: string, header: string): number {
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new SalesforceError(400, ErrorCode.InvalidHeaderType, `Invalid ${header} header value: ${value}`);
  return Math.floor(parsed / 1000);
}

/** ETags exist only for Account rows (REST API "Conditional Requests"). */
export function etagOf(record: StoredRecord): string | undefined {
  if (record.sobject !== 'Account') return undefined;
  const digest = createHash('sha1').update(`${record.id}|${String(record.values.SystemModstamp)}`).digest('base64');
  return `"${digest}"`;
}

/** Strips weak markers and the `-gzip` decoration servers append, so any faithful echo of our ETag matches. */
function normalizeEtag(tag: string): string {
  return tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1').replace(/-+gzip$/, '');
}

function etagListMatches(header: string, record: StoredRecord): boolean {
  const current = etagOf(record);
  if (header.trim() === '*') return true;
  if (!current) return false;
  const wanted = normalizeEtag(current);
  return header.split(',').some((tag) => normalizeEtag(tag) === wanted);
}

/** Headers a GET of a row answers with: `Last-Modified` always, `ETag` for accounts. */
export function rowHeaders(record: StoredRecord): Record<string, string> {
  const headers: Record<string, string> = { 'last-modified': new Date(Number(record.values.LastModifiedDate ?? 0)).toUTCString() };
  const etag = etagOf(record);
  if (etag) headers.etag = etag;
  return headers;
}

/** True when a conditional GET may answer 304 Not Modified. */
export function notModified(headers: Record<string, string | undefined>, record: StoredRecord): boolean {
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined && etagOf(record)) return etagListMatches(noneMatch, record);
  const since = headers['if-modified-since'];
  if (since !== undefined) {
    const parsed = Date.parse(since);
    return !Number.isNaN(parsed) && lastModifiedSeconds(record) <= Math.floor(parsed / 1000);
  }
  return false;
}

/**
 * Preconditions of a write (REST API "Conditional Requests"): `If-Unmodified-Since` on any row,
 * `If-Match`/`If-None-Match` on accounts. A malformed value is a 400; a failed precondition is a 412 and nothing is
 * written.
 */
export function checkWritePreconditions(headers: Record<string, string | undefined>, record: StoredRecord): void {
  const unmodifiedSince = headers['if-unmodified-since'];
  if (unmodifiedSince !== undefined) {
    const limit = parseHttpDate(unmodifiedSince, 'If-Unmodified-Since');
    if (lastModifiedSeconds(record) > limit) {
      throw new SalesforceError(412, ErrorCode.PreconditionFailed, `The requested resource has been modified since ${new Date(limit * 1000).toUTCString()} (If-Unmodified-Since).`);
    }
  }
  // UNCONFIRMED what Salesforce does with If-Match on objects without ETags; tolerant choice: ignore it there.
  if (!etagOf(record)) return;
  const match = headers['if-match'];
  if (match !== undefined && !etagListMatches(match, record)) {
    throw new SalesforceError(412, ErrorCode.PreconditionFailed, 'The record ETag does not match If-Match.');
  }
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined && etagListMatches(noneMatch, record)) {
    throw new SalesforceError(412, ErrorCode.PreconditionFailed, 'The record ETag matches If-None-Match.');
  }
}
