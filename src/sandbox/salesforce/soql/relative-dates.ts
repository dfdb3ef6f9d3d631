import { DAY_MS, startOfUtcDay } from '../data/wire-dates.ts';
import type { RelativeDate } from './ast.ts';

/** A half-open range of instants [start, end). */
export interface InstantRange {
  start: number;
  end: number;
}

function monthStart(epochMs: number, offsetMonths: number): number {
  const date = new Date(epochMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offsetMonths, 1);
}

/**
 * The range a relative date literal covers, in the org's time zone (the sandbox org runs in GMT) and with weeks
 * starting on Sunday (en_US locale).
 */
export function relativeDateRange(literal: RelativeDate, now: number): InstantRange {
  const today = startOfUtcDay(now);
  const n = literal.n ?? 0;
  const weekStart = today - new Date(today).getUTCDay() * DAY_MS;
  switch (literal.name) {
    case 'YESTERDAY':
      return { start: today - DAY_MS, end: today };
    case 'TODAY':
      return { start: today, end: today + DAY_MS };
    case 'TOMORROW':
      return { start: today + DAY_MS, end: today + 2 * DAY_MS };
    case 'LAST_WEEK':
      return { start: weekStart - 7 * DAY_MS, end: weekStart };
    case 'THIS_WEEK':
      return { start: weekStart, end: weekStart + 7 * DAY_MS };
    case 'NEXT_WEEK':
      return { start: weekStart + 7 * DAY_MS, end: weekStart + 14 * DAY_MS };
    case 'LAST_MONTH':
      return { start: monthStart(today, -1), end: monthStart(today, 0) };
    case 'THIS_MONTH':
      return { start: monthStart(today, 0), end: monthStart(today, 1) };
    case 'NEXT_MONTH':
      return { start: monthStart(today, 1), end: monthStart(today, 2) };
    case 'LAST_90_DAYS':
      return { start: today - 90 * DAY_MS, end: today + DAY_MS };
    case 'NEXT_90_DAYS':
      return { start: today + DAY_MS, end: today + 91 * DAY_MS };
    // LAST_N_DAYS:n runs from midnight n days ago through the end of today.
    case 'LAST_N_DAYS':
      return { start: today - n * DAY_MS, end: today + DAY_MS };
    case 'NEXT_N_DAYS':
      return { start: today + DAY_MS, end: today + (n + 1) * DAY_MS };
    case 'N_DAYS_AGO':
      return { start: today - n * DAY_MS, end: today - (n - 1) * DAY_MS };
    default:
      return { start: today, end: today + DAY_MS };
  }
}
