import type { Caller } from '../auth/users.ts';
import type { ContentIdMap } from '../data/bind-reference.ts';
import { DataverseError } from '../errors.ts';

/** One Web API request, from HTTP or from a `$batch` part; handlers never see fastify objects. */
export interface DataRequest {
  method: string;
  /** Percent-decoded path relative to the service root (`opportunities(…)/name`). */
  path: string;
  query: Map<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: unknown;
  caller: Caller;
  /** `http://host:port/api/data/v9.2/` as the client addressed it, so links round-trip through the client's base URL. */
  serviceRoot: string;
  correlationId: string;
  contentIds?: ContentIdMap;
}

export interface DataResponse {
  status: number;
  headers: Record<string, string>;
  /** A JSON value, or a string sent as `text/plain` ($count, $value). */
  body?: unknown;
}

export const ODATA_JSON = 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8';

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): DataResponse {
  return { status, headers: { 'Content-Type': ODATA_JSON, 'OData-Version': '4.0', ...headers }, body };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): DataResponse {
  return { status, headers: { 'OData-Version': '4.0', ...headers } };
}

export function errorResponse(error: DataverseError): DataResponse {
  return jsonResponse(error.statusCode, error.body(), error.headers);
}

export function methodNotAllowed(method: string): DataverseError {
  return new DataverseError(405, '0x80060888', `The requested resource does not support http method '${method}'.`);
}
