/*
 * The sync status as a seller sees it on the CRM record, the same in every CRM (Microsoft's co-sell connector
 * overviews): ✔ or ✖ after the record's name (Microsoft's "Display check mark in the opportunity name") and a readable
 * Audit text.
 */

export const OK_MARK = '✔';
export const FAILED_MARK = '✖';

/**
 * Exactly what `withIndicator` appends: one space and one mark, never the emoji form (U+FE0F). Only that is ever
 * removed, and only once: a name of its own ending in ✔, ✖ or ✔️ ("Launch ✔") is the seller's text and keeps it
 * ("Launch ✔ ✔" on the record reads back as "Launch ✔").
 */
const OUR_SUFFIX = / [✔✖]$/u;

/** The name without the one mark we appended (unchanged when it carries none). */
export function stripIndicator(title: string): string {
  return OUR_SUFFIX.test(title) ? title.slice(0, -2) : title;
}

/** The mark we appended, if the name still ends with it. */
export function currentIndicator(title: string | undefined): string | undefined {
  return title === undefined || !OUR_SUFFIX.test(title) ? undefined : title.slice(-1);
}

/** What a column of `maxLength` holds of a name once the mark is appended: the name, cut to leave room for " ✔". */
export function fittedTitle(title: string, maxLength: number): string {
  const room = maxLength - OK_MARK.length - 1;
  return title.length > room ? title.slice(0, room) : title;
}

/** The name (the real one, as the mapping gives it: never stripped again) with our mark appended. */
export function withIndicator(title: string, ok: boolean, maxLength: number): string {
  return `${fittedTitle(title, maxLength)} ${ok ? OK_MARK : FAILED_MARK}`;
}

/**
 * The audit text: the lines as given (newest first), as many whole lines as fit the column; a single line longer than
 * the column is cut. The engine keeps the full history in its own audit table, so the column shows a recent window
 * and is overwritten rather than read back and prepended to.
 */
export function auditText(lines: readonly string[], maxLength: number): string {
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    const clean = line.replace(/\r?\n/g, ' ');
    const added = clean.length + (kept.length > 0 ? 1 : 0);
    if (length + added > maxLength) {
      if (kept.length === 0) kept.push(`${clean.slice(0, Math.max(0, maxLength - 1))}…`);
      break;
    }
    kept.push(clean);
    length += added;
  }
  return kept.join('\n');
}
