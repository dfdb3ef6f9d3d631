import type { FastifyReply, FastifyRequest } from 'fastify';
import { PartnerCenterError } from './errors.ts';

/**
 * Links in responses point at the host the client actually used (it may reach the sandbox as localhost, 127.0.0.1 or
 * a container name), so a client that validates the nextLink host against its base URL accepts them.
 */
export function requestBaseUrl(request: FastifyRequest, fallback: string): string {
  const host = request.host;
  return host ? `${request.protocol}://${host}` : fallback;
}

export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function wantsRepresentation(request: FastifyRequest): boolean {
  return /return\s*=\s*representation/i.test(header(request, 'prefer') ?? '');
}

export function sendJson(reply: FastifyReply, statusCode: number, body: unknown): FastifyReply {
  return reply.code(statusCode).type('application/json; charset=utf-8').send(body);
}

export function sendError(reply: FastifyReply, error: PartnerCenterError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers ?? {})) reply.header(name, value);
  return sendJson(reply, error.statusCode, error.body());
}

/** Route params are typed loosely by fastify; every route here has string params. */
export function param(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, unknown>)[name];
  if (typeof value !== 'string') throw new PartnerCenterError(400, 'invalidRequest', `Missing path parameter '${name}'.`);
  return value;
}
