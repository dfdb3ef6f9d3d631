/**
 * Date-times as 100-nanosecond ticks since the Unix epoch. Partner Center timestamps carry seven fractional digits
 * (`2019-02-23T02:05:23.2931817Z`); comparing them through `Date` would collapse writes made within one millisecond.
 */
export type Instant = bigint;

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?)?$/;

const TICKS_PER_MS = 10_000n;

/** Parses an ISO 8601 date or date-time. No offset means UTC, the tolerant reading of a bare CRM date. */
export function parseInstant(text: string): Instant | undefined {
  const match = ISO_DATE_TIME.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', offset] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  // Date.UTC rolls 2024-02-30 over into March; a round trip catches impossible dates.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const subMillisecondTicks = BigInt((fraction + '0000000').slice(0, 7));
  let ticks = BigInt(ms) * TICKS_PER_MS + subMillisecondTicks;
  if (offset && offset.toUpperCase() !== 'Z') {
    const sign = offset.startsWith('-') ? -1n : 1n;
    const digits = offset.slice(1).replace(':', '');
    const offsetMinutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
    ticks -= sign * offsetMinutes * 60n * 1000n * TICKS_PER_MS;
  }
  return ticks;
}

export function isIsoDateTime(text: string): boolean {
  return parseInstant(text) !== undefined;
}

/** `2019-02-23T02:05:23.2931817Z` — the seven-digit shape Partner Center returns. */
export function formatInstant(ticks: Instant, suffix: 'Z' | '+00:00' = 'Z'): string {
  const ms = ticks / TICKS_PER_MS;
  const remainder = ticks % TICKS_PER_MS;
  const base = new Date(Number(ms)).toISOString(); // 2019-02-23T02:05:23.293Z
  const fraction = base.slice(20, 23) + remainder.toString().padStart(4, '0');
  return `${base.slice(0, 19)}.${fraction}${suffix}`;
}

export function nowInstant(): Instant {
  return BigInt(Date.now()) * TICKS_PER_MS;
}
