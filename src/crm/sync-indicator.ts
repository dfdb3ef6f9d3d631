/*
 * The sync status as a seller sees it on the CRM record, the same in every CRM (Microsoft's co-sell connector
 * overviews): ✔ or ✖ after the record's name (Microsoft's "Display check mark in the opportunity name") and a readable
 * Audit text.
 */

export const OK_MARK = '✔';
export const FAILED_MARK = '✖';

/** Any trailing run of indicators, including ones a seller duplicated by copy-pasting a name. */
const TRAILING_MARKS = /(?:\s*[✔✖]\uFE0F?)+\s*$/u;

export function stripIndicator(title: string): string {
  return title.replace(TRAILING_MARKS, '');
}

export function currentIndicator(title: string | undefined): string | undefined {
  return title === undefined ? undefined : /([✔✖])\uFE0F?\s*$/u.exec(title)?.[1];
}

export function withIndicator(title: string, ok: boolean, maxLength: number): string {
  const mark = ok ? OK_MARK : FAILED_MARK;
  const base = stripIndicator(title);
  const room = maxLength - mark.length - 1;
  return `${base.length > room ? base.slice(0, room) : base} ${mark}`;
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
