import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deepMerge } from '../../src/sandbox/shared/deep-merge.ts';
import { createSeededRandom } from '../../src/util/prng.ts';
import { FaultInjector } from '../../src/sandbox/shared/faults.ts';
import { WebhookDeliveryQueue } from '../../src/sandbox/shared/webhook-delivery-queue.ts';
import { sleep, waitFor } from './helpers/wait.ts';
import { WebhookReceiver } from './helpers/webhook-receiver.ts';

describe('shared webhook delivery queue', () => {
  let receiver: WebhookReceiver;
  const queues: WebhookDeliveryQueue[] = [];
  const makeQueue = (...args: ConstructorParameters<typeof WebhookDeliveryQueue>): WebhookDeliveryQueue => {
    const queue = new WebhookDeliveryQueue(...args);
    queues.push(queue);
    return queue;
  };

  beforeAll(async () => {
    receiver = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    await receiver.stop();
  });
  beforeEach(() => receiver.reset());

  it('sends the caller’s exact bytes and headers and records a 2xx as delivered', async () => {
    const queue = makeQueue();
    const body = Buffer.from('{"hello":"wörld"}', 'utf8');
    const id = queue.enqueue({ url: receiver.url, headers: { 'content-type': 'application/json', 'x-custom': 'yes' }, body, label: 'greeting' });
    await waitFor(() => queue.get(id)?.status === 'delivered', 3_000, 'delivery');
    expect(receiver.requests[0]?.rawBody.equals(body)).toBe(true);
    expect(receiver.requests[0]?.headers['x-custom']).toBe('yes');
    const record = queue.get(id);
    expect(record).toMatchObject({ label: 'greeting', url: receiver.url, duplicate: false, body: '{"hello":"wörld"}' });
    expect(record?.attempts).toHaveLength(1);
    expect(record?.attempts[0]?.statusCode).toBe(200);
  });

  it('backs off exponentially up to the cap and goes offline after maxAttempts', async () => {
    const queue = makeQueue({ maxAttempts: 4, initialDelayMs: 40, maxDelayMs: 80, timeoutMs: 1_000 });
    receiver.respond = () => ({ status: 418 });
    const id = queue.enqueue({ url: receiver.url, headers: {}, body: 'x', label: 'teapot' });
    await waitFor(() => queue.get(id)?.status === 'offline', 3_000, 'offline');
    const times = receiver.requests.map((r) => r.receivedAt);
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    // 40, then 80, then capped at 80.
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeLessThan(160);
    expect(queue.offline().map((r) => r.id)).toEqual([id]);
  });

  it('stops every timer on close: nothing is sent afterwards', async () => {
    const queue = makeQueue({ maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 50 });
    receiver.respond = () => ({ status: 500 });
    queue.enqueue({ url: receiver.url, headers: {}, body: 'x', label: 'x' });
    await waitFor(() => receiver.requests.length === 1, 2_000, 'first attempt');
    await queue.close();
    await sleep(200);
    expect(receiver.requests).toHaveLength(1);
    expect(queue.enqueue({ url: receiver.url, headers: {}, body: 'y', label: 'y' })).toBeTypeOf('string');
    await sleep(50);
    expect(receiver.requests).toHaveLength(1);
  });

  it('applies drop and duplicate faults from a fault source, deterministically per seed', async () => {
    const faults = new FaultInjector();
    const queue = makeQueue({ faults });
    faults.configure({ seed: 3, delivery: { dropRate: 0.3, duplicateRate: 0.3 } });
    for (let i = 0; i < 20; i += 1) queue.enqueue({ url: receiver.url, headers: {}, body: String(i), label: 'n' });
    await waitFor(() => queue.pendingCount() === 0, 3_000, 'all settled');
    const shape = queue.list().map((r) => `${r.body}:${r.status}:${r.duplicate}`);
    expect(shape.some((s) => s.endsWith(':dropped:false'))).toBe(true);
    expect(shape.some((s) => s.endsWith(':true'))).toBe(true);
    expect(receiver.requests.length).toBe(queue.list().filter((r) => r.status === 'delivered').length);

    const again = makeQueue({ faults });
    faults.configure({ seed: 3, delivery: { dropRate: 0.3, duplicateRate: 0.3 } });
    for (let i = 0; i < 20; i += 1) again.enqueue({ url: receiver.url, headers: {}, body: String(i), label: 'n' });
    await waitFor(() => again.pendingCount() === 0, 3_000, 'all settled again');
    expect(again.list().map((r) => `${r.body}:${r.status}:${r.duplicate}`)).toEqual(shape);
  });
});

describe('shared helpers', () => {
  it('seeded random is repeatable and roughly uniform', () => {
    const a = createSeededRandom(99);
    const b = createSeededRandom(99);
    const values = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(values);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(createSeededRandom(100)()).not.toBe(createSeededRandom(99)());
  });

  it('deep merge merges objects, replaces arrays and scalars, honours null and ignores prototype keys', () => {
    const base = { a: { b: 1, c: [1, 2] }, d: 'x', e: 'keep' };
    const patch = JSON.parse('{"a":{"c":[3]},"d":null,"__proto__":{"polluted":true}}') as Record<string, unknown>;
    const merged = deepMerge(base, patch);
    expect(merged).toEqual({ a: { b: 1, c: [3] }, d: null, e: 'keep' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(base.a.c).toEqual([1, 2]);
  });
});
