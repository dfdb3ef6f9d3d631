const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

function isRealDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** `YYYY-MM-DD` when the text is a real calendar date, else undefined. */
export function parseDateOnly(text: string): string | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  return isRealDate(Number(match[1]), Number(match[2]), Number(match[3])) ? text : undefined;
}

/**
 * Epoch ms for the ISO 8601 forms clients send: `Z`, `+00:00` or Salesforce's own `+0000` offset, optional seconds and
 * fraction. No offset means UTC (the sandbox org runs in GMT). A bare date is midnight UTC.
 */
export function parseDateTime(text: string): number | undefined {
  if (DATE.test(text)) {
    const date = parseDateOnly(text);
    return date === undefined ? undefined : Date.parse(`${date}T00:00:00Z`);
  }
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  if (!isRealDate(Number(y), Number(mo), Number(d)) || Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) return undefined;
  const millis = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const digits = zone.replace(':', '');
    offsetMinutes = (digits.startsWith('-') ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
  }
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  return utc + Math.floor(millis) - offsetMinutes * 60_000;
}

/** The REST API's datetime shape: `2026-11-21T05:00:00.000+0000`. */
export function formatRestDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('Z', '+0000');
}

/** Streaming (CometD) payloads and SOAP outbound messages use plain ISO 8601 with `Z`. */
export function formatIsoDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** Start of the UTC day containing the instant, as epoch ms. */
export function startOfUtcDay(epochMs: number): number {
  const date = new Date(epochMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
}

export function dateOnlyOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export const DAY_MS = 24 * 60 * 60 * 1000;
