import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { ACTION_NAMES } from '../api/action-handlers.ts';
import { resolveTarget } from '../api/request-target.ts';
import { principalOf, resolveCaller } from '../auth/caller.ts';
import { bearerToken, unauthorized, type TokenIdentity } from '../auth/tokens.ts';
import { SANDBOX_CLIENT_ID } from '../auth/users.ts';
import type { DataverseContext } from '../context.ts';
import { parseQueryString } from '../odata/query-options.ts';
import { EventCollector } from '../webhooks/events.ts';
import { headerRecord, requestOrigin } from '../../shared/http-request.ts';
import { sendDataResponse } from './http-helpers.ts';

const SERVICE_ROOT = '/api/data/v9.2';
const METHODS: HTTPMethods[] = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'];
const VERSION = /^\/api\/data\/(v\d+(?:\.\d+)?)(?:\/|$|\?)/i;

/** Whom a bare token (not from the sandbox's token endpoint, accepted without `strictTokens`) speaks for: the product. */
const PRODUCT_IDENTITY: TokenIdentity = { kind: 'application', clientId: SANDBOX_CLIENT_ID };

/** The systemuser each authenticated request acts as, found once by the onRequest hook. */
const principals = new WeakMap<FastifyRequest, string>();

function authenticate(ctx: DataverseContext) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    const resource = ctx.baseUrl();
    if (!token) throw unauthorized('Bearer token is missing. Send Authorization: Bearer <access token>.', resource);
    const found = ctx.tokens.lookup(token);
    if (found.status === 'expired' || (found.status === 'unknown' && ctx.strictTokens)) throw unauthorized('The bearer token is invalid or expired.', resource);
    principals.set(request, principalOf(found.status === 'valid' ? found.identity : PRODUCT_IDENTITY, ctx.services.store));
  };
}

function principalFor(request: FastifyRequest): string {
  const principal = principals.get(request);
  // The route's onRequest hook always runs first; reaching here without it is a wiring bug.
  if (principal === undefined) throw new Error('Web API request without an authenticated principal');
  return principal;
}

async function handleWebApi(ctx: DataverseContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const version = VERSION.exec(request.url)?.[1] ?? 'v9.2';
  const serviceRoot = `${requestOrigin(request, ctx.baseUrl())}/api/data/${version}/`;
  const headers = headerRecord(request);
  const correlationId = randomUUID();
  reply.header('REQ_ID', correlationId);
  const store = ctx.services.store;
  const target = resolveTarget(request.url);
  const principal = principalFor(request);

  if (target.path === '$batch') {
    if (request.method !== 'POST') return reply.code(405).send();
    const output = ctx.batch.execute({
      contentType: headers['content-type'],
      body: typeof request.body === 'string' ? request.body : '',
      headers,
      serviceRoot,
      correlationId,
      callerFor: (partHeaders) => resolveCaller(principal, { ...headers, ...partHeaders }, store),
    });
    ctx.publisher.publish(output.events);
    return reply.code(output.status).header('OData-Version', '4.0').type(output.contentType).send(output.body);
  }

  const events = new EventCollector();
  const response = ctx.dispatcher.handle(
    {
      method: request.method,
      path: target.path,
      query: parseQueryString(target.rawQuery),
      headers,
      body: request.body,
      caller: resolveCaller(principal, headers, store),
      serviceRoot,
      correlationId,
    },
    events,
  );
  ctx.publisher.publish(events.drain());
  return sendDataResponse(reply, response);
}

/**
 * Registers the Web API under one route per entity set, key form and action, so the shared request counter reports
 * calls per endpoint (`PATCH /api/data/v9.2/opportunities(*`) instead of one catch-all; everything else still lands
 * in `/api/data/*` and gets the service's "Resource not found" answer.
 */
export function registerWebApiRoutes(app: FastifyInstance, ctx: DataverseContext): void {
  const onRequest = authenticate(ctx);
  const handler = (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => handleWebApi(ctx, request, reply);
  const route = (url: string): void => {
    app.route({ method: METHODS, url, onRequest, handler });
  };
  for (const entity of ctx.services.registry.all()) {
    route(`${SERVICE_ROOT}/${entity.entitySetName}`);
    route(`${SERVICE_ROOT}/${entity.entitySetName}(*`);
    route(`${SERVICE_ROOT}/${entity.entitySetName}/$count`);
  }
  route(`${SERVICE_ROOT}/EntityDefinitions`);
  route(`${SERVICE_ROOT}/EntityDefinitions(*`);
  for (const action of ACTION_NAMES) route(`${SERVICE_ROOT}/${action}`);
  route(`${SERVICE_ROOT}/WhoAmI(*`);
  route(`${SERVICE_ROOT}/$batch`);
  route(`${SERVICE_ROOT}/`);
  route('/api/data/*');
}
