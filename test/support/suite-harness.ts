import { afterAll, beforeAll } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.ts';

/**
 * The `sync` options of a suite in which what reaches either side comes through notifications: no reconcile pass at
 * start, nor (a pass an hour) while the suite runs, unless a test asks for one.
 */
export const NOTIFICATIONS_ONLY = { reconcileIntervalSeconds: 3600, reconcileOnStart: false } satisfies ConfigInput['sync'];

export interface SuiteHarnessOptions<H> {
  /** More set-up once it started (seed data, a sandbox's webhook shape, …); the harness is closed after the suite either way. */
  afterStart?: (harness: H) => Promise<unknown> | void;
  /** Bound of the beforeAll (start and afterStart). Default 60 s. */
  timeoutMs?: number;
}

/**
 * A harness started in the suite's beforeAll and closed in its afterAll. What it returns stands for the started
 * harness, so that a suite declares it once (`const h = suiteHarness(() => SyncHarness.start(…))`) and its tests and
 * helpers use it as the harness itself: property reads are the harness's, its methods are called on it. Used before
 * the beforeAll started it (e.g. at collection), it throws.
 */
export function suiteHarness<H extends { close(): Promise<void> }>(start: () => Promise<H>, options: SuiteHarnessOptions<H> = {}): H {
  let started: H | undefined;
  beforeAll(async () => {
    started = await start();
    await options.afterStart?.(started);
  }, options.timeoutMs ?? 60_000);
  afterAll(async () => {
    await started?.close();
  });
  const current = (): H => {
    if (!started) throw new Error('the suite harness is used before its beforeAll started it');
    return started;
  };
  return new Proxy({} as H, {
    get(_, property) {
      const harness = current();
      const value: unknown = Reflect.get(harness, property, harness);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(harness) : value;
    },
    set(_, property, value) {
      const harness = current();
      return Reflect.set(harness, property, value, harness);
    },
    has(_, property) {
      return Reflect.has(current(), property);
    },
  });
}
