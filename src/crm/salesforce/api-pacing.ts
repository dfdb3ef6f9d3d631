import type { ApiUsageSnapshot } from './api-usage.ts';

/*
 * Paces Salesforce calls on the daily API allocation that every REST answer reports (`Sforce-Limit-Info:
 * api-usage=used/max`, "API Request Limits and Allocations",
 * https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm).
 * Past the allocation every call fails with REQUEST_LIMIT_EXCEEDED until usage rolls off the 24-hour window, for every
 * tool of the org, so the service slows down before that instead of after:
 * - below `pace` (90 %) of the allocation: no pacing;
 * - from `pace`: calls are spaced at the rate the allocation refills (24 h / max, e.g. 5.8 s with 15,000 a day), so
 *   usage stops climbing while the changes sellers and Microsoft make (the hot path) still sync;
 * - from `hotOnly` (98 %): background calls (backfill, bulk customer matching, the change poll) wait `backgroundProbeMs`
 *   between them, leaving what is left to the hot path; one still goes now and then, so usage that rolled off is seen.
 * The usage is the last answer's: it only moves when calls are made, which pacing never stops altogether.
 */

export const DAY_MS = 24 * 60 * 60_000;

export type CallLane = 'hot' | 'background';

export interface ApiPacerOptions {
  /** Share of the allocation from which calls are spaced out. */
  pace?: number;
  /** Share from which only the hot path keeps that pace; background calls wait `backgroundProbeMs` between them. */
  hotOnly?: number;
  backgroundProbeMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class ApiAllocationPacer {
  private readonly pace: number;
  private readonly hotOnly: number;
  private readonly backgroundProbeMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The earliest start of the next paced call (any lane). */
  private nextAt = 0;
  /** The earliest start of the next background call above `hotOnly`. */
  private nextBackgroundAt = 0;

  constructor(
    private readonly usage: () => ApiUsageSnapshot | undefined,
    options: ApiPacerOptions = {},
  ) {
    this.pace = options.pace ?? 0.9;
    this.hotOnly = options.hotOnly ?? 0.98;
    this.backgroundProbeMs = options.backgroundProbeMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Waits (if need be) for this call's turn; returns how long it waited, in ms. */
  async take(lane: CallLane): Promise<number> {
    const usage = this.usage();
    if (!usage) return 0;
    const ratio = usage.used / usage.max;
    if (ratio < this.pace) return 0;
    const now = this.now();
    const spacing = DAY_MS / usage.max;
    let slot = Math.max(now, this.nextAt);
    // A background call held back above `hotOnly` takes no place in the hot path's line: it waits on its own.
    this.nextAt = slot + spacing;
    if (lane === 'background' && ratio >= this.hotOnly) {
      slot = Math.max(slot, this.nextBackgroundAt);
      this.nextBackgroundAt = slot + this.backgroundProbeMs;
    }
    const wait = slot - now;
    if (wait > 0) await this.sleep(wait);
    return wait;
  }
}
