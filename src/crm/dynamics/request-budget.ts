/*
 * Dataverse's service protection limit on requests: 6,000 per user in a sliding 5-minute window ("Service protection
 * API limits"); past it every call answers 429 with Retry-After. The application user is one user, shared by every
 * sync of this connection, so a backfill or a burst of changes would hit the wall and then back off call by call. The
 * budget paces instead: at `pace` (90 %) of the window's requests it waits until the oldest one leaves the window.
 */

export const DATAVERSE_REQUESTS_PER_WINDOW = 6_000;
export const DATAVERSE_WINDOW_MS = 5 * 60_000;

export interface RequestBudgetOptions {
  limit?: number;
  windowMs?: number;
  /** Share of `limit` used before pacing starts; the rest is left to the other tools on the same user. */
  pace?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class RequestBudget {
  /** Start times of the requests in the window, oldest first. */
  private readonly starts: number[] = [];
  private readonly cap: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: RequestBudgetOptions = {}) {
    this.cap = Math.max(1, Math.floor((options.limit ?? DATAVERSE_REQUESTS_PER_WINDOW) * (options.pace ?? 0.9)));
    this.windowMs = options.windowMs ?? DATAVERSE_WINDOW_MS;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Waits (if need be) until one more request fits the window, and counts it. */
  async take(): Promise<void> {
    for (;;) {
      const now = this.now();
      while (this.starts.length > 0 && (this.starts[0] as number) <= now - this.windowMs) this.starts.shift();
      if (this.starts.length < this.cap) {
        this.starts.push(now);
        return;
      }
      await this.sleep((this.starts[0] as number) + this.windowMs - now);
    }
  }

  /** Requests counted in the current window. */
  get used(): number {
    return this.starts.length;
  }
}
