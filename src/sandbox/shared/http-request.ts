import type { FastifyRequest } from 'fastify';

/** Request headers with lower-case names, a repeated header joined as HTTP joins it. */
export function headerRecord(request: FastifyRequest): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

/** The origin the client used (it may reach the sandbox as localhost, 127.0.0.1 or a container name). */
export function requestOrigin(request: FastifyRequest, fallback: string): string {
  return request.host ? `${request.protocol}://${request.host}` : fallback;
}

/** A control list's `?select=a,b`: the names asked for, undefined when absent or empty. */
export function selectedNames(request: FastifyRequest): string[] | undefined {
  const raw = (request.query as Record<string, unknown>).select;
  if (typeof raw !== 'string') return undefined;
  const names = raw.split(',').map((name) => name.trim()).filter((name) => name !== '');
  return names.length > 0 ? names : undefined;
}
