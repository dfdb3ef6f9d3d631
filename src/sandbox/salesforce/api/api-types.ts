import type { SandboxUser } from '../auth/users.ts';
import type { WriteContext } from '../data/record-changes.ts';

/**
 * A REST request as the handlers see it, independent of fastify, so `/composite` can run subrequests through the very
 * same handlers inside one transaction.
 */
export interface ApiRequest {
  method: string;
  /** `62.0` — the version in the URL, which shapes URLs and version-dependent answers. */
  version: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: unknown;
  user: SandboxUser;
  write: WriteContext;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type ApiHandler = (request: ApiRequest) => ApiResponse;

export type ApiMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface ApiRoute {
  method: ApiMethod;
  /** Relative to `/services/data/vXX.X`, fastify syntax (`/sobjects/:sobject/:id`). */
  path: string;
  handler: ApiHandler;
  /** May run as a `/composite` subrequest (REST API "Composite" lists sObject, query and collection resources). */
  composite: boolean;
}

export function param(request: ApiRequest, name: string): string {
  return request.params[name] ?? '';
}
