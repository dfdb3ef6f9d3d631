import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DataResponse } from '../api/data-request.ts';
import { DataverseError } from '../errors.ts';

export function sendDataResponse(reply: FastifyReply, response: DataResponse): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  if (response.body === undefined || response.status === 204 || response.status === 304) return reply.send();
  return reply.send(typeof response.body === 'string' ? response.body : JSON.stringify(response.body));
}

export function sendError(reply: FastifyReply, error: DataverseError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(error.statusCode).type('application/json; odata.metadata=minimal; charset=utf-8').send(JSON.stringify(error.body()));
}

export function param(request: FastifyRequest, name: string): string {
  const value = (request.params as Record<string, unknown>)[name];
  if (typeof value !== 'string') throw new DataverseError(400, '0x80040203', `Missing path parameter '${name}'.`);
  return value;
}
