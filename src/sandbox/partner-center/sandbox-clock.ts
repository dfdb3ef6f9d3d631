import { nowInstant, type Instant } from '../../util/instant.ts';

const TICKS_PER_DAY = 24n * 60n * 60n * 10_000_000n;

/**
 * The sandbox's notion of "now": real time plus an offset a test can move forward (`POST /_sandbox/clock`), so a
 * 14-day expiry can be observed in milliseconds. It only ever moves forward, as timestamps must keep increasing.
 */
export class SandboxClock {
  private offsetTicks = 0n;

  now(): Instant {
    return nowInstant() + this.offsetTicks;
  }

  advance(days: number): void {
    this.offsetTicks += BigInt(Math.round(days * 24 * 60 * 60 * 1000)) * 10_000n;
  }

  get offsetDays(): number {
    return Number((this.offsetTicks * 1000n) / TICKS_PER_DAY) / 1000;
  }
}
