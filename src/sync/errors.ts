/**
 * How the worker treats a failure. API clients attach `retryable` (and `retryAfterMs` when the server said when);
 * anything unclassified — a bug, a network error without a status — is retried, because retrying a read-then-write
 * sync is safe and giving up early would lose a change.
 */
export interface FailureClass {
  retryable: boolean;
  retryAfterMs?: number | undefined;
  message: string;
}

export class NonRetryableSyncError extends Error {
  override readonly name = 'NonRetryableSyncError';
  readonly retryable = false;
}

export function classifyFailure(error: unknown): FailureClass {
  const message = error instanceof Error ? error.message : String(error);
  if (typeof error === 'object' && error !== null) {
    const e = error as { retryable?: unknown; retryAfterMs?: unknown };
    const retryAfterMs = typeof e.retryAfterMs === 'number' ? e.retryAfterMs : undefined;
    if (e.retryable === false) return { retryable: false, message };
    if (e.retryable === true) return { retryable: true, retryAfterMs, message };
  }
  return { retryable: true, message };
}
