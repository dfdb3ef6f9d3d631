import { z } from 'zod';
import { isPlainObject } from '../../shared/deep-merge.ts';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import type { SalesforceContext } from '../context.ts';
import { badRequest, ErrorCode, SalesforceError, type SalesforceErrorEntry } from '../errors.ts';
import type { ApiRouter } from './api-router.ts';
import type { ApiRequest, ApiResponse, ApiRoute } from './api-types.ts';

/** `/composite` takes at most 25 subrequests (REST API "Composite"). */
export const MAX_COMPOSITE_SUBREQUESTS = 25;

const compositeBody = z
  .object({
    allOrNone: z.boolean().optional(),
    collateSubrequests: z.boolean().optional(),
    compositeRequest: z
      .array(
        z
          .object({
            method: z.enum(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']),
            url: z.string().startsWith('/services/data/', 'url must start with /services/data/'),
            referenceId: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'referenceId must start with a letter and contain only letters, digits and underscores'),
            body: z.unknown().optional(),
            httpHeaders: z.record(z.string(), z.string()).optional(),
          })
          .loose(),
      )
      .min(1)
      .max(MAX_COMPOSITE_SUBREQUESTS),
  })
  .loose();

interface SubResponse {
  body: unknown;
  httpHeaders: Record<string, string>;
  httpStatusCode: number;
  referenceId: string;
}

const HALTED: SalesforceErrorEntry[] = [{ errorCode: ErrorCode.ProcessingHalted, message: 'The transaction was rolled back since another operation in the same transaction failed.' }];

class RollbackRequested extends Error {}
class UnresolvedReference extends Error {}

/** Reads `refId.records[0].Id` out of earlier results. */
function lookupReference(results: Map<string, unknown>, expression: string): unknown {
  const [referenceId, ...path] = expression.split('.');
  let current: unknown = results.get(referenceId ?? '');
  if (current === undefined) throw new UnresolvedReference(`No value for ${expression} found`);
  for (const segment of path) {
    const match = /^([^[\]]+)((?:\[\d+\])*)$/.exec(segment);
    if (!match) throw new UnresolvedReference(`Invalid reference ${expression}`);
    current = isPlainObject(current) ? current[match[1] ?? ''] : undefined;
    for (const index of (match[2] ?? '').matchAll(/\[(\d+)\]/g)) current = Array.isArray(current) ? current[Number(index[1])] : undefined;
    if (current === undefined || current === null) throw new UnresolvedReference(`No value for ${expression} found`);
  }
  return current;
}

function substitute(value: unknown, results: Map<string, unknown>): unknown {
  if (typeof value === 'string') {
    // A string that is exactly one reference keeps the referenced value's JSON type.
    const whole = /^@\{([^}]+)\}$/.exec(value);
    if (whole) return lookupReference(results, whole[1] ?? '');
    return value.replace(/@\{([^}]+)\}/g, (_, expression: string) => String(lookupReference(results, expression)));
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, results));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, results)]));
  return value;
}

function errorResponse(error: unknown): ApiResponse {
  if (error instanceof SalesforceError) return { status: error.statusCode, body: error.body(), headers: error.headers };
  throw error;
}

/**
 * `/composite` (REST API "Composite"): up to 25 subrequests through the same handlers as the REST routes, in order,
 * with `@{ref.path}` references to earlier results. The whole call counts as one API request. With allOrNone the
 * subrequests share one transaction and a failure rolls all of them back.
 */
export function compositeRoute(ctx: SalesforceContext, router: () => ApiRouter): ApiRoute {
  return {
    method: 'POST',
    path: '/composite',
    composite: false,
    handler: (request) => {
      const parsed = parseWithProblems(compositeBody, request.body ?? {});
      if (!parsed.ok) throw badRequest(ErrorCode.JsonParserError, `Invalid composite request: ${summarizeProblems(parsed.problems)}`);
      const { allOrNone = false, compositeRequest } = parsed.value;
      const results = new Map<string, unknown>();
      const responses: SubResponse[] = [];
      const mark = request.write.changes.mark();

      const runOne = (sub: (typeof compositeRequest)[number]): ApiResponse => {
        let url: string;
        let body: unknown;
        try {
          url = String(substitute(sub.url, results));
          body = substitute(sub.body, results);
        } catch (error) {
          if (!(error instanceof UnresolvedReference)) throw error;
          return { status: 400, body: [{ errorCode: ErrorCode.ProcessingHalted, message: `Invalid reference specified. ${error.message}` }] };
        }
        const parsedUrl = new URL(url, 'http://composite.invalid');
        const match = /^\/services\/data\/v(\d+\.\d)(\/.*)$/.exec(parsedUrl.pathname);
        const route = match ? router().match(sub.method, match[2] ?? '') : undefined;
        if (!match || !route || !route.route.composite) {
          return { status: 404, body: [{ errorCode: ErrorCode.NotFound, message: `The requested resource does not exist: ${sub.method} ${parsedUrl.pathname}` }] };
        }
        const headers: Record<string, string | undefined> = {};
        for (const [name, value] of Object.entries(sub.httpHeaders ?? {})) headers[name.toLowerCase()] = value;
        const subRequest: ApiRequest = {
          ...request,
          version: match[1] ?? request.version,
          params: route.params,
          query: parsedUrl.searchParams,
          headers,
          body,
        };
        try {
          return route.route.handler(subRequest);
        } catch (error) {
          return errorResponse(error);
        }
      };

      const record = (sub: (typeof compositeRequest)[number], response: ApiResponse): boolean => {
        const httpHeaders: Record<string, string> = {};
        if (response.headers?.location) httpHeaders.Location = response.headers.location;
        responses.push({ body: response.body ?? null, httpHeaders, httpStatusCode: response.status, referenceId: sub.referenceId });
        const ok = response.status < 400;
        if (ok) results.set(sub.referenceId, response.body);
        return ok;
      };

      if (!allOrNone) {
        for (const sub of compositeRequest) {
          const subMark = request.write.changes.mark();
          try {
            ctx.store.transaction(() => {
              if (!record(sub, runOne(sub))) throw new RollbackRequested();
            });
          } catch (error) {
            if (!(error instanceof RollbackRequested)) throw error;
            request.write.changes.rollbackTo(subMark);
          }
        }
        return { status: 200, body: { compositeResponse: responses } };
      }

      let failedAt = -1;
      try {
        ctx.store.transaction(() => {
          for (const [index, sub] of compositeRequest.entries()) {
            if (!record(sub, runOne(sub))) {
              failedAt = index;
              throw new RollbackRequested();
            }
          }
        });
      } catch (error) {
        if (!(error instanceof RollbackRequested)) throw error;
      }
      if (failedAt === -1) return { status: 200, body: { compositeResponse: responses } };
      request.write.changes.rollbackTo(mark);
      const halted = compositeRequest.map((sub, index): SubResponse => {
        const done = responses[index];
        if (index === failedAt && done) return done;
        return { body: HALTED, httpHeaders: {}, httpStatusCode: 400, referenceId: sub.referenceId };
      });
      return { status: 200, body: { compositeResponse: halted } };
    },
  };
}
