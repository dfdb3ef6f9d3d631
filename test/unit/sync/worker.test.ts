import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { Worker } from '../../../src/sync/worker.ts';
import { NonRetryableSyncError } from '../../../src/sync/errors.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import type { Job, LeasedJobQueue } from '../../../src/store/types.ts';
import { makeTempDir } from '../../support/tmp.ts';

describe('worker', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  let n = 0;
  const open = () => SqliteStore.open({ path: join(tmp.path, `w-${++n}.db`), synchronous: 'normal' });

  it('never runs one pair twice at once, while running different pairs in parallel', async () => {
    const store = open();
    const active = new Set<string>();
    let maxParallel = 0;
    let overlap = false;
    const runs: string[] = [];
    const worker = new Worker({
      jobs: store.jobs,
      logger: silentLogger(),
      concurrency: 4,
      handler: async (job: Job) => {
        if (active.has(job.key)) overlap = true;
        active.add(job.key);
        maxParallel = Math.max(maxParallel, active.size);
        await new Promise((r) => setTimeout(r, 20));
        runs.push(job.key);
        active.delete(job.key);
      },
    });
    worker.start();
    for (let round = 0; round < 5; round++) {
      await store.jobs.enqueue(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ connection: 'x', cause: 'event' as const, referralId: id })));
      await new Promise((r) => setTimeout(r, 5));
    }
    await worker.drain();
    await worker.stop();
    expect(overlap).toBe(false);
    expect(maxParallel).toBeGreaterThan(1);
    expect(maxParallel).toBeLessThanOrEqual(4);
    // coalescing: far fewer runs than the 30 enqueues, but every key ran after its last enqueue
    expect(runs.length).toBeLessThan(30);
    expect(new Set(runs).size).toBe(6);
    expect(await store.jobs.depth()).toBe(0);
    await store.close();
  });

  it('retries transient failures with backoff, then succeeds', async () => {
    const store = open();
    let calls = 0;
    const worker = new Worker({
      jobs: store.jobs,
      logger: silentLogger(),
      backoffBaseMs: 10,
      handler: async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error('HTTP 503'), { retryable: true });
      },
    });
    worker.start();
    await store.jobs.enqueue([{ connection: 'x', cause: 'event', referralId: 'r' }]);
    await new Promise((r) => setTimeout(r, 300));
    await worker.drain();
    await worker.stop();
    expect(calls).toBe(3);
    expect(await store.sync.deadLetters({ limit: 10 })).toEqual([]);
    await store.close();
  });

  it('sends a non-retryable failure straight to dead letters with its message', async () => {
    const store = open();
    let calls = 0;
    const worker = new Worker({
      jobs: store.jobs,
      logger: silentLogger(),
      handler: async () => {
        calls++;
        throw new NonRetryableSyncError('Partner Center rejected the referral: customerProfile.address.country is invalid');
      },
    });
    worker.start();
    await store.jobs.enqueue([{ connection: 'x', cause: 'event', referralId: 'bad' }]);
    await worker.drain();
    await worker.stop();
    expect(calls).toBe(1);
    const [letter] = await store.sync.deadLetters({ limit: 10 });
    expect(letter?.error).toMatch(/country is invalid/);
    expect(await store.jobs.depth()).toBe(0);
    await store.close();
  });

  it('never runs more than its concurrency when claims are asynchronous and pumps overlap', async () => {
    const store = open();
    // A store whose claim answers a turn later (as a database does): pumps requested meanwhile must not claim too.
    const jobs: LeasedJobQueue = {
      ...store.jobs,
      enqueue: (requests) => store.jobs.enqueue(requests),
      claim: async (limit, leaseMs) => {
        await new Promise((r) => setImmediate(r));
        return store.jobs.claim(limit, leaseMs);
      },
      complete: (job) => store.jobs.complete(job),
      retry: (job, error, delayMs) => store.jobs.retry(job, error, delayMs),
      postpone: (job, reason, delayMs) => store.jobs.postpone(job, reason, delayMs),
      deadLetter: (job, error) => store.jobs.deadLetter(job, error),
      depth: () => store.jobs.depth(),
      nextDueAt: () => store.jobs.nextDueAt(),
      onEnqueue: (listener) => store.jobs.onEnqueue(listener),
    };
    const active = new Set<string>();
    let maxParallel = 0;
    let overlap = false;
    const worker = new Worker({
      jobs,
      logger: silentLogger(),
      concurrency: 3,
      handler: async (job: Job) => {
        if (active.has(job.key)) overlap = true;
        active.add(job.key);
        maxParallel = Math.max(maxParallel, active.size);
        await new Promise((r) => setTimeout(r, 10));
        active.delete(job.key);
      },
    });
    worker.start();
    // One enqueue per job: each wakes the worker while the previous wake-up's claim is still in flight.
    await Promise.all(Array.from({ length: 12 }, (_, i) => jobs.enqueue([{ connection: 'x', cause: 'event', referralId: `r${i}` }])));
    await worker.drain();
    await worker.stop();
    expect(overlap).toBe(false);
    expect(maxParallel).toBe(3);
    expect(await store.jobs.depth()).toBe(0);
    await store.close();
  });

  it('gives up after maxAttempts on persistent transient failures', async () => {
    const store = open();
    let calls = 0;
    const worker = new Worker({
      jobs: store.jobs,
      logger: silentLogger(),
      maxAttempts: 3,
      backoffBaseMs: 5,
      handler: async () => {
        calls++;
        throw new Error('socket hang up');
      },
    });
    worker.start();
    await store.jobs.enqueue([{ connection: 'x', cause: 'event', referralId: 'r' }]);
    await new Promise((r) => setTimeout(r, 200));
    await worker.drain();
    await worker.stop();
    expect(calls).toBe(3);
    expect((await store.sync.deadLetters({ limit: 10 }))[0]?.attempts).toBe(3);
    await store.close();
  });
});
