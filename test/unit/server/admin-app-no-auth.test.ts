import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildAdminApp } from '../../../src/server/app.ts';
import { Metrics } from '../../../src/server/metrics.ts';
import { Readiness } from '../../../src/server/readiness.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { silentLogger } from '../../../src/util/logger.ts';

/*
 * `admin.auth: none` (loopback only): no credentials asked, but the checks that protect a credential-less listener
 * from web pages — Host (DNS rebinding), Origin and JSON-only state changes — still hold.
 */

const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });

describe('the admin listener with authentication off', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildAdminApp({
      store,
      logger: silentLogger(),
      metrics: new Metrics({ processMetrics: false }),
      readiness: new Readiness(store, ':memory:', {}),
      token: undefined,
      allowedHosts: [],
      sessionTtlMs: 60_000,
      trustProxy: false,
    });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it('serves the API and the dashboard without credentials', async () => {
    expect((await app.inject({ url: '/api/events', headers: { host: '127.0.0.1:4180' } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/', headers: { host: 'localhost:4180' } })).body).toContain('<h2>Dead letters</h2>');
    expect((await app.inject({ url: '/readyz', headers: { host: '127.0.0.1:4180' } })).statusCode).toBe(200);
  });

  it('still refuses a foreign Host, a foreign Origin and non-JSON state changes', async () => {
    expect((await app.inject({ url: '/api/events', headers: { host: 'rebind.evil.example:4180' } })).statusCode).toBe(403);
    const post = (headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/api/reconcile', headers: { host: '127.0.0.1:4180', ...headers }, payload: '{}' });
    expect((await post({ 'content-type': 'text/plain', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await post({ 'content-type': 'text/plain' })).statusCode).toBe(415);
    expect((await post({ 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    // Passes every check and reaches the route, which has no engine to reconcile with.
    expect((await post({ 'content-type': 'application/json', origin: 'http://127.0.0.1:4180' })).statusCode).toBe(409);
  });
});
