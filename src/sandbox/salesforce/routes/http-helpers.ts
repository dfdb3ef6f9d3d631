import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiResponse } from '../api/api-types.ts';
import type { SalesforceError } from '../errors.ts';

export function queryString(request: FastifyRequest): URLSearchParams {
  const index = request.url.indexOf('?');
  return new URLSearchParams(index === -1 ? '' : request.url.slice(index + 1));
}

export function sendError(reply: FastifyReply, error: SalesforceError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.statusCode).type('application/json;charset=UTF-8').send(JSON.stringify(error.body()));
}

export function sendApiResponse(reply: FastifyReply, response: ApiResponse): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of Object.entries(response.headers ?? {})) reply.header(name, value);
  if (response.body === undefined || response.status === 204 || response.status === 304) return reply.send();
  return reply.type('application/json;charset=UTF-8').send(JSON.stringify(response.body));
}

/** `Sforce-Call-Options: client=cosell-sync, defaultNamespace=x` → the client tag (REST API Developer Guide). */
export function callOptionsClient(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const [name, ...rest] = part.split('=');
    if (name?.trim().toLowerCase() === 'client') return rest.join('=').trim() || undefined;
  }
  return undefined;
}
