/*
 * How many "CRM ID" writes a backfill keeps in flight against Partner Center, which has no batch write: one PATCH per
 * referral, so a backfill of 10,000 referrals at 50 ms per call needs a few dozen in flight to finish within a minute.
 *
 * Partner Center publishes no request budget and answers no remaining-quota header, so the gate cannot see a limit
 * coming; it keeps a ceiling (`sync.backfillWritesInFlight`) and backs off at the first throttling answer instead of
 * letting every write in flight run into it: a 429 that outlived the client's own retries halves the window
 * (multiplicative decrease), holds every write until its Retry-After has passed, and the write is tried again;
 * each success widens the window again by 1/window (additive increase), so it climbs back to the ceiling over a few
 * windows' worth of writes.
 */

/** Extra attempts of one write after a throttling answer, before it is left to the pair's job. */
const THROTTLED_RETRIES = 4;
/** Without a Retry-After: how long to hold writes after a 429. */
const DEFAULT_PAUSE_MS = 2_000;

/** The Retry-After (ms) of a throttling failure, undefined for any other failure. */
function throttledFor(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error) || error.status !== 429) return undefined;
  const retryAfterMs = 'retryAfterMs' in error && typeof error.retryAfterMs === 'number' ? error.retryAfterMs : undefined;
  return retryAfterMs ?? DEFAULT_PAUSE_MS;
}

export class CrmIdWriteGate {
  private window: number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private pausedUntil = 0;
  private resumeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ceiling: number,
    private readonly now: () => number = Date.now,
  ) {
    this.window = ceiling;
  }

  /** Writes in flight allowed now (for tests and logs). */
  get limit(): number {
    return Math.max(1, Math.floor(this.window));
  }

  async run<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.acquire();
      try {
        const result = await write();
        this.window = Math.min(this.ceiling, this.window + 1 / this.window);
        return result;
      } catch (error) {
        const pauseMs = throttledFor(error);
        if (pauseMs === undefined || attempt >= THROTTLED_RETRIES) throw error;
        this.window = Math.max(1, this.window / 2);
        this.pausedUntil = Math.max(this.pausedUntil, this.now() + pauseMs);
      } finally {
        this.active--;
        this.wake();
      }
    }
  }

  private acquire(): Promise<void> {
    if (this.waiting.length === 0 && this.admits()) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiting.push(() => {
        this.active++;
        resolve();
      });
      this.wake();
    });
  }

  private admits(): boolean {
    return this.active < this.limit && this.now() >= this.pausedUntil;
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.admits()) this.waiting.shift()?.();
    const wait = this.pausedUntil - this.now();
    if (this.waiting.length > 0 && wait > 0 && this.resumeTimer === undefined) {
      this.resumeTimer = setTimeout(() => {
        this.resumeTimer = undefined;
        this.wake();
      }, wait);
      this.resumeTimer.unref();
    }
  }
}
