import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiRouter } from '../api/api-router.ts';
import type { ApiRequest, ApiRoute } from '../api/api-types.ts';
import { collectionRoutes } from '../api/collection-handlers.ts';
import { compositeRoute } from '../api/composite-handler.ts';
import { queryRoutes } from '../api/query-handlers.ts';
import { sobjectRoutes } from '../api/sobject-handlers.ts';
import { toolingRoutes } from '../api/tooling-handlers.ts';
import { tokenFromAuthorization } from '../auth/tokens.ts';
import type { SandboxUser } from '../auth/users.ts';
import type { SalesforceContext } from '../context.ts';
import { ChangeCollector, type WriteContext } from '../data/record-changes.ts';
import { ErrorCode, invalidSession, requestLimitExceeded, resourceNotFound, SalesforceError } from '../errors.ts';
import { headerRecord } from '../../shared/http-request.ts';
import { callOptionsClient, queryString, sendApiResponse, sendError } from './http-helpers.ts';

/** The oldest version the sandbox answers; anything from here up to the pinned version behaves the same. */
export const OLDEST_VERSION = 20;
const VERSIONED_PATH = /^\/services\/data\/v(\d+)\.(\d)(?:\/|$|\?)/;

/** Users resolved by the auth hook, keyed by the raw request so nothing leaks between requests. */
const callers = new WeakMap<object, SandboxUser>();

export function callerOf(request: FastifyRequest): SandboxUser {
  const user = callers.get(request.raw);
  if (!user) throw invalidSession();
  return user;
}

/** `62.0` from `/services/data/v62.0/...`, or undefined when the version is unknown to the sandbox. */
function versionOf(url: string, pinnedMajor: number): string | undefined {
  const match = VERSIONED_PATH.exec(url);
  if (!match || match[2] !== '0') return undefined;
  const major = Number(match[1]);
  return major >= OLDEST_VERSION && major <= pinnedMajor ? `${major}.0` : undefined;
}

/**
 * `com/salesforce/api/rest/62.0;client=<name>` (Change Data Capture Developer Guide): how change events say an API
 * write happened and who tagged it.
 */
export function apiChangeOrigin(version: string, client: string | undefined): string {
  return `com/salesforce/api/rest/${version}${client ? `;client=${client}` : ''}`;
}

/**
 * The REST API under `/services/data/vXX.X/`: version check, bearer-token auth, the daily allocation
 * (`Sforce-Limit-Info`, REQUEST_LIMIT_EXCEEDED) and every resource handler. Versions 20.0 up to the pinned one are
 * served identically (except where REST API "sObject Rows by External ID" names version-dependent answers); newer or
 * malformed versions are a 404, like an org that has not been upgraded yet.
 */
export function registerRestRoutes(app: FastifyInstance, ctx: SalesforceContext): ApiRouter {
  const pinnedMajor = Number.parseInt(ctx.apiVersion, 10);
  // /composite dispatches through the router that contains it, so the router is looked up lazily.
  const currentRouter = (): ApiRouter => router;
  const routes: ApiRoute[] = [...sobjectRoutes(ctx), ...collectionRoutes(ctx), compositeRoute(ctx, currentRouter), ...queryRoutes(ctx, ctx, ''), ...toolingRoutes(ctx)];
  const router = new ApiRouter(routes);

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url;
    if (!path.startsWith('/services/data/v')) return undefined;
    if (!versionOf(path, pinnedMajor)) return sendError(reply, resourceNotFound());
    const token = tokenFromAuthorization(request.headers.authorization);
    const user = token ? ctx.sessions.resolve(token) : undefined;
    if (!user) return sendError(reply, invalidSession());
    if (!ctx.usage.consume()) return sendError(reply, requestLimitExceeded());
    callers.set(request.raw, user);
    return undefined;
  });

  // Every API response reports the allocation, including errors and injected faults (REST API Developer Guide).
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/services/data/v')) reply.header('sforce-limit-info', ctx.usage.header());
    return payload;
  });

  app.get('/services/data', async () => versionList(ctx));

  app.get('/services/data/:version', async (request) => {
    const version = versionOf(request.url, pinnedMajor) ?? ctx.apiVersion;
    const base = `/services/data/v${version}`;
    return {
      tooling: `${base}/tooling`,
      query: `${base}/query`,
      queryAll: `${base}/queryAll`,
      sobjects: `${base}/sobjects`,
      composite: `${base}/composite`,
      limits: `${base}/limits`,
      identity: `${ctx.baseUrl()}/id/${ctx.organizationId}/${callerOf(request).id}`,
    };
  });

  app.get('/services/data/:version/limits', async () => {
    const { max, remaining } = ctx.usage.snapshot();
    return { DailyApiRequests: { Max: max, Remaining: remaining } };
  });

  for (const route of routes) {
    app.route({
      method: route.method,
      url: `/services/data/:version${route.path}`,
      handler: async (request, reply) => {
        const user = callerOf(request);
        const version = versionOf(request.url, pinnedMajor) ?? ctx.apiVersion;
        const write: WriteContext = {
          userId: user.id,
          changeOrigin: apiChangeOrigin(version, callOptionsClient(request.headers['sforce-call-options'] as string | undefined)),
          changes: new ChangeCollector(),
        };
        const params = { ...(request.params as Record<string, string>) };
        delete params.version;
        const apiRequest: ApiRequest = { method: request.method, version, params, query: queryString(request), headers: headerRecord(request), body: request.body, user, write };
        const response = route.handler(apiRequest);
        // Events fire on commit: only a handler that returned (its transaction committed) publishes.
        ctx.publisher.publish(write.changes.drain());
        return sendApiResponse(reply, response);
      },
    });
  }

  app.setNotFoundHandler((request, reply) => {
    const match = VERSIONED_PATH.exec(request.url);
    const relative = match ? request.url.slice(match[0].length - 1).split('?')[0] ?? '' : '';
    const allowed = match ? currentRouter().allowedMethods(relative.startsWith('/') ? relative : `/${relative}`) : [];
    if (allowed.length > 0) {
      return sendError(reply, new SalesforceError(405, ErrorCode.MethodNotAllowed, `HTTP Method '${request.method}' not allowed. Allowed are ${allowed.join(',')}`));
    }
    return sendError(reply, resourceNotFound());
  });

  return router;
}

function versionList(ctx: SalesforceContext): Array<{ label: string; url: string; version: string }> {
  const pinned = Number.parseInt(ctx.apiVersion, 10);
  const versions: Array<{ label: string; url: string; version: string }> = [];
  for (let major = pinned - 4; major <= pinned; major += 1) versions.push({ label: `v${major}.0`, url: `/services/data/v${major}.0`, version: `${major}.0` });
  return versions;
}
