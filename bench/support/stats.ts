import { availableParallelism, loadavg } from 'node:os';

/*
 * Small order statistics for the benchmarks: percentiles of one run's latencies, and the median and range over runs
 * (a verdict comes from the median, so one lucky or unlucky run on a shared machine does not decide it).
 */

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median and range of per-run figures (the median of an even count is the mean of the middle two). */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/** "12.3 (10.1–15.0)": median, then the range over runs; one run prints just its figure. */
export function formatSpread(values: readonly number[], digits = 1, unit = ''): string {
  const s = spread(values);
  const f = (n: number) => `${n.toFixed(digits)}${unit}`;
  return values.length <= 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

/** The machine's 1-minute load average and core count, printed next to figures measured on a shared machine. */
export function loadNote(): string {
  const [one = Number.NaN, five = Number.NaN] = loadavg();
  return `load average ${one.toFixed(2)} / ${five.toFixed(2)} (1 / 5 min), ${availableParallelism()} cores`;
}
