import type { z } from 'zod';
import { CrmApiError } from '../connector.ts';
import { describeIssues } from '../../util/describe-issues.ts';

/** An OData string literal: single quotes doubled (OData ABNF), so a value can never end the literal early. */
export function stringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * An alternate-key segment value, e.g. `cosell_referralidentifier='abc'`. dynamics-web-api puts it into the URL as is,
 * after turning `"` into `'` and splitting on commas (it parses multi-part keys), so everything beyond letters, digits
 * and `-._~'` is percent-encoded: Dataverse decodes the path before it parses the key, and the library sees no comma or
 * double quote to mangle.
 */
export function alternateKey(column: string, value: string): string {
  return `${column}=${encodeURIComponent(stringLiteral(value))}`;
}

/** The metadata alternate key by which a table definition is addressed. */
export function entityKey(logicalName: string): string {
  return `LogicalName=${stringLiteral(logicalName)}`;
}

export const GUID_PATTERN = /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i;

export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID_PATTERN.test(value);
}

export function normalizeGuid(value: string): string {
  return value.replace(/^\{|\}$/g, '').toLowerCase();
}

/**
 * Zod at the edge: a response that does not have the documented shape is a non-retryable API error naming what is
 * wrong, not a TypeError three calls later.
 */
export function parseResponse<S extends z.ZodType>(schema: S, data: unknown, operation: string): z.output<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new CrmApiError(`Dataverse ${operation} returned an unexpected body: ${describeIssues(parsed.error)}`, undefined, 'invalidResponse', false);
}
