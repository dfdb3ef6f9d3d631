import type { SalesforceContext } from '../context.ts';
import { badRequest, ErrorCode } from '../errors.ts';
import type { QuerySource } from '../soql/field-resolution.ts';
import { runQuery } from '../soql/query-engine.ts';
import { param, type ApiRequest, type ApiResponse, type ApiRoute } from './api-types.ts';

/**
 * `Sforce-Query-Options: batchSize=N` is honoured within Salesforce's documented 200–2000 (REST API "Query",
 * UNCONFIRMED range).
 */
const MIN_BATCH_HEADER = 200;
const MAX_BATCH = 2000;

function batchSizeOf(request: ApiRequest, fallback: number): number {
  const header = request.headers['sforce-query-options'];
  const match = header ? /batchSize\s*=\s*(\d+)/i.exec(header) : null;
  const asked = match ? Number(match[1]) : undefined;
  if (asked !== undefined && asked >= MIN_BATCH_HEADER && asked <= MAX_BATCH) return asked;
  return fallback;
}

/**
 * GET /query and /queryAll (REST API "Query") with paging through server-side cursors; shared by the data and Tooling
 * APIs.
 */
export function queryRoutes(ctx: SalesforceContext, source: QuerySource, apiPrefix: '' | '/tooling'): ApiRoute[] {
  const run = (request: ApiRequest, includeDeleted: boolean): ApiResponse => {
    if (request.query.has('explain')) throw badRequest(ErrorCode.MalformedQuery, 'The sandbox does not support query plans (explain).');
    const soql = request.query.get('q');
    if (soql === null) throw badRequest(ErrorCode.MalformedQuery, 'A q parameter with a SOQL query is required.');
    const outcome = runQuery(source, soql, { includeDeleted, version: request.version, apiPrefix });
    const page = ctx.cursors.firstPage(outcome.records, outcome.totalSize, batchSizeOf(request, ctx.queryBatchSize), request.version, apiPrefix);
    return { status: 200, body: page };
  };
  const more = (request: ApiRequest): ApiResponse => ({ status: 200, body: ctx.cursors.next(param(request, 'locator')) });
  return [
    { method: 'GET', path: `${apiPrefix}/query`, composite: apiPrefix === '', handler: (request) => run(request, false) },
    { method: 'GET', path: `${apiPrefix}/queryAll`, composite: apiPrefix === '', handler: (request) => run(request, true) },
    { method: 'GET', path: `${apiPrefix}/query/:locator`, composite: apiPrefix === '', handler: more },
    { method: 'GET', path: `${apiPrefix}/queryAll/:locator`, composite: apiPrefix === '', handler: more },
  ];
}
