/** Developer Edition's daily allocation ("API Request Limits and Allocations", UNCONFIRMED current value). */
export const DEFAULT_DAILY_API_LIMIT = 15_000;

/**
 * The org's API request allocation, reported in `Sforce-Limit-Info: api-usage=<used>/<max>` (REST API Developer Guide)
 * and enforced with 403 REQUEST_LIMIT_EXCEEDED ("API Request Limits and Allocations"). A counter, not a rolling 24 h
 * window: a sandbox run rarely lasts a day, and the control API can set or reset it.
 */
export class ApiUsage {
  used = 0;

  constructor(public max: number = DEFAULT_DAILY_API_LIMIT) {}

  /** Counts one call; false when the allocation is already spent (the call is refused and not counted). */
  consume(): boolean {
    if (this.used >= this.max) return false;
    this.used += 1;
    return true;
  }

  header(): string {
    return `api-usage=${this.used}/${this.max}`;
  }

  snapshot(): { used: number; max: number; remaining: number } {
    return { used: this.used, max: this.max, remaining: Math.max(0, this.max - this.used) };
  }
}
