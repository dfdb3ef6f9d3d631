import { randomBytes } from 'node:crypto';
import type { ConfigInput } from '../../src/config/schema.ts';

/*
 * The admin listener in tests: one random token per test process, handed over the way an operator would — the
 * services' configurations reference the COSELL_ADMIN_TOKEN environment variable, which child processes (`cosell
 * start`, the CLI) inherit — and sent as a bearer token by every admin call a test makes.
 */

export const ADMIN_TOKEN_ENV = 'COSELL_ADMIN_TOKEN';
export const ADMIN_TOKEN = randomBytes(32).toString('base64url');
process.env[ADMIN_TOKEN_ENV] = ADMIN_TOKEN;

/** The `admin` config section of a test service: loopback, token from the environment, ephemeral port by default. */
export function testAdminConfig(port = 0): NonNullable<ConfigInput['admin']> {
  return { host: '127.0.0.1', port, auth: 'token', token: { env: ADMIN_TOKEN_ENV } };
}

export const adminAuthHeader = { authorization: `Bearer ${ADMIN_TOKEN}` } as const;

/** fetch() against the admin listener with the bearer token; state changes default to an empty JSON body. */
export function adminFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  headers.set('authorization', adminAuthHeader.authorization);
  if (method !== 'GET' && method !== 'HEAD' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const body = init.body ?? (method !== 'GET' && method !== 'HEAD' ? '{}' : undefined);
  return fetch(url, { ...init, method, headers, ...(body === undefined ? {} : { body }) });
}
