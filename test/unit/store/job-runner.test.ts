import { describe, expect, it } from 'vitest';
import { decideJobOutcome } from '../../../src/store/job-runner.ts';

const policy = { maxAttempts: 5, backoffBaseMs: 1_000, backoffMaxMs: 60_000 };

describe('decideJobOutcome', () => {
  it('dead-letters a non-retryable failure at once', () => {
    expect(decideJobOutcome({ attempts: 0 }, { retryable: false, message: 'bad mapping' }, policy)).toEqual({ kind: 'dead', error: 'bad mapping' });
  });

  it('dead-letters the last allowed attempt', () => {
    expect(decideJobOutcome({ attempts: 4 }, { retryable: true, message: '503' }, policy)).toEqual({ kind: 'dead', error: '503' });
  });

  it('retries with jittered exponential backoff, half of it fixed', () => {
    expect(decideJobOutcome({ attempts: 2 }, { retryable: true, message: '503' }, { ...policy, random: () => 0 })).toEqual({ kind: 'retry', error: '503', delayMs: 2_000 });
    expect(decideJobOutcome({ attempts: 2 }, { retryable: true, message: '503' }, { ...policy, random: () => 0.999_999 }).kind).toBe('retry');
    const capped = decideJobOutcome({ attempts: 3 }, { retryable: true, message: '503' }, { ...policy, backoffMaxMs: 4_000, random: () => 0 });
    expect(capped).toEqual({ kind: 'retry', error: '503', delayMs: 2_000 });
  });

  it('waits at least as long as the server asked', () => {
    const outcome = decideJobOutcome({ attempts: 0 }, { retryable: true, retryAfterMs: 120_000, message: '429' }, { ...policy, random: () => 0.5 });
    expect(outcome).toEqual({ kind: 'retry', error: '429', delayMs: 120_000 });
  });
});
