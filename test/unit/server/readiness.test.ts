import { describe, expect, it } from 'vitest';
import { FAILING_AFTER, Readiness } from '../../../src/server/readiness.ts';
import type { Store } from '../../../src/store/types.ts';

/* Connection health from the per-call records: a connection whose calls all fail is failing, and says why. */

const store = { inbox: { count: () => 0 } } as unknown as Store;

describe('Readiness connection health', () => {
  it('marks a connection failing after consecutive failed calls, degrades the service, and recovers on a success', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const readiness = new Readiness(store, ':memory:', { 'partner-center': 'referrals', dynamics: 'dataverse' }, () => now);
    expect((await readiness.check()).connections.dynamics?.state).toBe('unknown');
    readiness.recordCall({ api: 'dataverse', method: 'GET', route: 'accounts', status: 200 });
    for (let i = 0; i < FAILING_AFTER - 1; i++) readiness.recordCall({ api: 'dataverse', method: 'GET', route: 'opportunities', status: 503 });
    expect((await readiness.check()).connections.dynamics?.state).toBe('ok');

    now += 1000;
    readiness.recordCall({ api: 'dataverse', method: 'GET', route: 'opportunities', status: 'network-error' });
    const failing = await readiness.check();
    expect(failing).toMatchObject({ ready: false, status: 'degraded', store: 'writable' });
    expect(failing.connections.dynamics).toMatchObject({
      state: 'failing',
      consecutiveFailures: FAILING_AFTER,
      lastFailure: 'network-error on GET opportunities',
      lastFailureAt: '2026-01-01T00:00:01.000Z',
      lastSuccessAt: '2026-01-01T00:00:00.000Z',
    });
    expect(failing.connections['partner-center']?.state).toBe('unknown');

    readiness.recordCall({ api: 'dataverse', status: 204 });
    expect(await readiness.check()).toMatchObject({ ready: true, status: 'ok' });
  });

  it('reports a connection the engine holds unavailable as failing with its reason, whatever its calls did, until released', async () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const readiness = new Readiness(store, ':memory:', { dynamics: 'dataverse' }, () => now);
    readiness.recordCall({ api: 'dataverse', status: 200 });
    readiness.setUnavailable('dynamics', 'unavailable (org.example): connect ECONNREFUSED');
    const held = await readiness.check();
    expect(held).toMatchObject({ ready: false, status: 'degraded' });
    expect(held.connections.dynamics).toMatchObject({ state: 'failing', lastFailure: 'unavailable (org.example): connect ECONNREFUSED', lastFailureAt: '2026-01-01T00:00:00.000Z' });
    readiness.setUnavailable('dynamics', undefined);
    expect(await readiness.check()).toMatchObject({ ready: true, connections: { dynamics: { state: 'ok', lastFailure: null } } });
  });

  it('counts answers about the data (404, 412) as working, and refused credentials and throttling as failing', async () => {
    const readiness = new Readiness(store, ':memory:', { salesforce: 'salesforce' });
    for (const status of [404, 412, 400, 404]) readiness.recordCall({ api: 'salesforce', status });
    expect((await readiness.check()).connections.salesforce?.state).toBe('ok');
    for (const status of [401, 403, 429]) readiness.recordCall({ api: 'salesforce', status });
    expect((await readiness.check()).connections.salesforce).toMatchObject({ state: 'failing', throttledLast5Min: 1, callsLast5Min: 7 });
  });

  it('counts calls over the last five minutes only', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const readiness = new Readiness(store, ':memory:', { dynamics: 'dataverse' }, () => now);
    for (let i = 0; i < 10; i++) readiness.recordCall({ api: 'dataverse', status: 200 });
    now += 2 * 60_000;
    for (let i = 0; i < 5; i++) readiness.recordCall({ api: 'dataverse', status: 429 });
    expect(readiness.connections().dynamics).toMatchObject({ callsLast5Min: 15, throttledLast5Min: 5 });
    now += 4 * 60_000;
    expect(readiness.connections().dynamics).toMatchObject({ callsLast5Min: 5, throttledLast5Min: 5 });
    now += 2 * 60_000;
    expect(readiness.connections().dynamics).toMatchObject({ callsLast5Min: 0, throttledLast5Min: 0 });
  });
});
