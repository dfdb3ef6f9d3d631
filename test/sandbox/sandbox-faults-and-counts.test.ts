import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Json, type SandboxClient } from './helpers/sandbox-client.ts';

const REFERRALS = '/v1.0/engagements/referrals';

interface ErrorBody {
  error: { code: string; message: string; target?: string };
}

describe('sandbox plumbing — request counts and fault injection', () => {
  let client: SandboxClient;

  beforeAll(async () => {
    client = await startSandbox();
  });
  afterAll(() => client.sandbox.close());
  beforeEach(() => client.reset());

  describe('request counts', () => {
    it('counts API calls per METHOD and route pattern, excluding /_sandbox/, and resets', async () => {
      const referral = await client.createIncoming({ microsoftSide: false });
      await client.api('GET', `${REFERRALS}/${String(referral.id)}`);
      await client.api('GET', `${REFERRALS}/${String(referral.id)}`);
      await client.api('GET', `${REFERRALS}/does-not-exist`);
      await client.api('GET', `${REFERRALS}?$top=1`);
      await client.api('PATCH', `${REFERRALS}/${String(referral.id)}`, [{ op: 'replace', path: '/name', value: 'x' }]);
      await client.request('GET', REFERRALS); // unauthenticated still costs a call
      await client.api('GET', '/no/such/route');
      await client.control('GET', '/referrals');

      const counts = await client.control<{ total: number; routes: Record<string, number> }>('GET', '/requests');
      expect(counts.json).toEqual({
        total: 7,
        routes: {
          'GET (unmatched)': 1,
          'GET /v1.0/engagements/referrals': 2,
          'GET /v1.0/engagements/referrals/:id': 3,
          'PATCH /v1.0/engagements/referrals/:id': 1,
        },
      });

      await client.control('DELETE', '/requests');
      expect((await client.control<{ total: number; routes: Json }>('GET', '/requests')).json).toEqual({ total: 0, routes: {} });
    });
  });

  describe('faults', () => {
    it('adds latency to API responses but not to the control API', async () => {
      await client.control('POST', '/faults', { latencyMs: 250 });
      let started = Date.now();
      expect((await client.api('GET', REFERRALS)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(240);
      started = Date.now();
      await client.control('GET', '/referrals');
      expect(Date.now() - started).toBeLessThan(200);
    });

    it('injects exactly one 503 with count: 1, in the vendor error shape, and then clears itself', async () => {
      await client.control('POST', '/faults', { errorRate: 1, count: 1 });
      const failed = await client.api<ErrorBody>('GET', REFERRALS);
      expect(failed.status).toBe(503);
      expect(failed.headers.get('content-type')).toContain('application/json');
      expect(failed.json.error.code).toBe('serviceNotAvailable');
      expect((await client.api('GET', REFERRALS)).status).toBe(200);
      expect((await client.api('GET', REFERRALS)).status).toBe(200);
      expect((await client.control<Json>('GET', '/faults')).json).toEqual({});
    });

    it('injects 429 with Retry-After', async () => {
      await client.control('POST', '/faults', { throttleRate: 1, retryAfterSeconds: 7, count: 2 });
      for (let i = 0; i < 2; i += 1) {
        const throttled = await client.api<ErrorBody>('GET', REFERRALS);
        expect(throttled.status).toBe(429);
        expect(throttled.headers.get('retry-after')).toBe('7');
        expect(throttled.json.error.code).toBe('serviceNotAvailable');
      }
      expect((await client.api('GET', REFERRALS)).status).toBe(200);
    });

    it('uses a custom error status and limits request faults to route prefixes', async () => {
      await client.control('POST', '/faults', { errorStatus: 500, routes: ['/webhooks/'] });
      expect((await client.api('GET', REFERRALS)).status).toBe(200);
      const failed = await client.api<ErrorBody>('GET', '/webhooks/v1/registration/events');
      expect(failed.status).toBe(500);
      expect(failed.json.error.code).toBe('generalException');
      expect((await client.control('GET', '/referrals')).status).toBe(200);
    });

    it('applies rates deterministically for a given seed', async () => {
      const run = async (): Promise<number[]> => {
        await client.control('POST', '/faults', { errorRate: 0.5, seed: 7 });
        const statuses: number[] = [];
        for (let i = 0; i < 12; i += 1) statuses.push((await client.api('GET', REFERRALS)).status);
        return statuses;
      };
      const first = await run();
      expect(await run()).toEqual(first);
      expect(first).toContain(503);
      expect(first).toContain(200);
    });

    it('counts faulted requests', async () => {
      await client.control('POST', '/faults', { errorRate: 1, count: 2 });
      await client.api('GET', REFERRALS);
      await client.api('GET', REFERRALS);
      await client.api('GET', REFERRALS);
      expect((await client.control<{ total: number }>('GET', '/requests')).json.total).toBe(3);
    });

    it.each([
      [{ errorRate: 2 }, 'errorRate'],
      [{ latencyMs: -1 }, 'latencyMs'],
      [{ errorrate: 0.5 }, ''],
      [{ routes: ['v1.0'] }, 'routes[0]'],
      [{ delivery: { dropRate: 'all' } }, 'delivery.dropRate'],
      [{ count: 0 }, 'count'],
    ])('rejects an invalid fault configuration %j with 400 and a clear message', async (body, target) => {
      const result = await client.control<ErrorBody>('POST', '/faults', body);
      expect(result.status).toBe(400);
      expect(result.json.error.code).toBe('invalidRequest');
      expect(result.json.error.message).toContain('Invalid fault configuration');
      if (target) expect(result.json.error.target).toBe(target);
      else expect(result.json.error.message).toContain('errorrate');
      expect((await client.control<Json>('GET', '/faults')).json).toEqual({});
    });

    it('reports and clears the active configuration', async () => {
      await client.control('POST', '/faults', { latencyMs: 5, count: 3, delivery: { duplicateRate: 0.1 } });
      expect((await client.control<Json>('GET', '/faults')).json).toEqual({ latencyMs: 5, count: 3, remaining: 3, delivery: { duplicateRate: 0.1 } });
      await client.control('DELETE', '/faults');
      expect((await client.control<Json>('GET', '/faults')).json).toEqual({});
    });
  });
});
