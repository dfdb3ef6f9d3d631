import { describe, expect, it } from 'vitest';
import { BatchPipeline } from '../../../src/sync/batch-pipeline.ts';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('BatchPipeline', () => {
  it('runs up to its depth of tasks side by side and holds the producer back beyond it', async () => {
    const pipeline = new BatchPipeline(2);
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    await pipeline.add(() => (started.push(0), gates[0]?.promise ?? Promise.resolve()));
    await pipeline.add(() => (started.push(1), gates[1]?.promise ?? Promise.resolve()));
    let thirdAdded = false;
    const third = pipeline.add(() => (started.push(2), gates[2]?.promise ?? Promise.resolve())).then(() => (thirdAdded = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(started).toEqual([0, 1]);
    expect(thirdAdded).toBe(false);
    gates[1]?.resolve();
    await third;
    expect(started).toEqual([0, 1, 2]);
    gates[0]?.resolve();
    gates[2]?.resolve();
    await pipeline.drain();
  });

  it('throws the first failure from drain, only once every task under way has settled', async () => {
    const pipeline = new BatchPipeline(3);
    const slow = deferred();
    let slowDone = false;
    await pipeline.add(() => slow.promise.then(() => void (slowDone = true)));
    await pipeline.add(() => Promise.reject(new Error('batch failed')));
    const drained = pipeline.drain().then(
      () => 'resolved',
      (error: unknown) => (error instanceof Error ? error.message : 'other'),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(slowDone).toBe(false);
    slow.resolve();
    await expect(drained).resolves.toBe('batch failed');
    expect(slowDone).toBe(true);
  });
});
