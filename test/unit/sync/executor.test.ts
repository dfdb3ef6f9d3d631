import { describe, expect, it } from 'vitest';
import type { JobOutcome, JobRunner, JobRunnerOptions } from '../../../src/store/job-runner.ts';
import type { Job, RunnableJobQueue } from '../../../src/store/types.ts';
import { RunnerExecutor } from '../../../src/sync/executor.ts';
import { NonRetryableSyncError } from '../../../src/sync/errors.ts';
import { silentLogger } from '../../../src/util/logger.ts';

function job(over: Partial<Job> = {}): Job {
  return { key: 'crm:ref:r1', connection: 'crm', referralId: 'r1', crmEntity: null, crmId: null, cause: 'event', microsoftSide: true, generation: 0, attempts: 0, lastError: null, ...over };
}

/** A push queue whose runner is the test: `push` hands a job to the handler and returns its outcome. */
class FakeRunnerQueue implements RunnableJobQueue {
  readonly kind = 'runner' as const;
  options: JobRunnerOptions | undefined;
  due: number | null = null;
  stopped = 0;
  inFlight = 0;
  failStart: Error | undefined;

  enqueue(): Promise<void> {
    return Promise.resolve();
  }
  depth(): Promise<number> {
    return Promise.resolve(this.due === null ? 0 : 1);
  }
  nextDueAt(): Promise<number | null> {
    return Promise.resolve(this.due);
  }
  onEnqueue(): () => void {
    return () => undefined;
  }
  run(options: JobRunnerOptions): Promise<JobRunner> {
    if (this.failStart) return Promise.reject(this.failStart);
    this.options = options;
    const inFlight = (): number => this.inFlight;
    return Promise.resolve({
      stop: () => {
        this.stopped++;
        return Promise.resolve();
      },
      get inFlight() {
        return inFlight();
      },
    });
  }
  async push(j: Job): Promise<JobOutcome> {
    if (!this.options) throw new Error('not running');
    this.inFlight++;
    try {
      return await this.options.handle(j);
    } finally {
      this.inFlight--;
    }
  }
}

const policy = { maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 60_000, random: () => 0.5 };

describe('RunnerExecutor', () => {
  it('turns a run into the outcome the Worker would apply: done, retry by our backoff or Retry-After, dead', async () => {
    const queue = new FakeRunnerQueue();
    const failures: unknown[] = [];
    const outcomes: string[] = [];
    const executor = new RunnerExecutor({
      queue,
      handler: async () => {
        const failure = failures.shift();
        if (failure) throw failure;
      },
      logger: silentLogger(),
      concurrency: 2,
      policy,
      onOutcome: (outcome) => outcomes.push(outcome),
    });
    executor.start();
    await executor.drain();
    expect(executor.started).toBe(true);
    expect(queue.options?.concurrency).toBe(2);

    expect(await queue.push(job())).toEqual({ kind: 'done' });
    failures.push(Object.assign(new Error('HTTP 503'), { retryable: true }));
    // attempts 1: backoff 2 s, half fixed and half jittered (random 0.5) = 1.5 s.
    expect(await queue.push(job({ attempts: 1 }))).toEqual({ kind: 'retry', error: 'HTTP 503', delayMs: 1_500 });
    failures.push(Object.assign(new Error('HTTP 429'), { retryable: true, retryAfterMs: 90_000 }));
    expect(await queue.push(job())).toEqual({ kind: 'retry', error: 'HTTP 429', delayMs: 90_000 });
    failures.push(Object.assign(new Error('HTTP 503'), { retryable: true }));
    expect(await queue.push(job({ attempts: 2 }))).toEqual({ kind: 'dead', error: 'HTTP 503' });
    failures.push(new NonRetryableSyncError('no such connection'));
    expect(await queue.push(job())).toEqual({ kind: 'dead', error: 'no such connection' });
    expect(outcomes).toEqual(['done', 'retry', 'retry', 'dead', 'dead']);

    await executor.stop();
    expect(queue.stopped).toBe(1);
    expect(executor.started).toBe(false);
  });

  it('postpones a gated job without running it or reporting an outcome', async () => {
    const queue = new FakeRunnerQueue();
    let ran = 0;
    const outcomes: string[] = [];
    const executor = new RunnerExecutor({
      queue,
      handler: async () => {
        ran++;
      },
      logger: silentLogger(),
      concurrency: 1,
      policy,
      gate: (j) => (j.connection === 'down' ? { kind: 'postpone', reason: 'waiting for down', delayMs: 1_000 } : null),
      onOutcome: (outcome) => outcomes.push(outcome),
    });
    executor.start();
    await executor.drain();
    expect(await queue.push(job({ connection: 'down' }))).toEqual({ kind: 'postpone', reason: 'waiting for down', delayMs: 1_000 });
    expect(ran).toBe(0);
    expect(await queue.push(job())).toEqual({ kind: 'done' });
    expect(ran).toBe(1);
    expect(outcomes).toEqual(['done']);
    await executor.stop();
  });

  it('drains once nothing runs here and nothing is due; a job due later does not hold it', async () => {
    const queue = new FakeRunnerQueue();
    let release: () => void = () => undefined;
    const executor = new RunnerExecutor({ queue, handler: () => new Promise<void>((resolve) => (release = resolve)), logger: silentLogger(), concurrency: 1, policy });
    executor.start();
    await executor.drain();
    const running = queue.push(job());
    queue.due = Date.now();
    let drained = false;
    const draining = executor.drain().then(() => (drained = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    queue.due = Date.now() + 3_600_000;
    release();
    await running;
    await draining;
    expect(drained).toBe(true);
    await executor.stop();
  });

  it('a runner that cannot start makes drain reject with its error', async () => {
    const queue = new FakeRunnerQueue();
    queue.failStart = new Error('graphile-worker schema missing');
    const executor = new RunnerExecutor({ queue, handler: async () => undefined, logger: silentLogger(), concurrency: 1, policy });
    executor.start();
    await expect(executor.drain()).rejects.toThrow('graphile-worker schema missing');
    await executor.stop();
  });
});
