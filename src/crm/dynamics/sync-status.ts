import type { SyncStatusUpdate } from '../connector.ts';
import type { CustomColumnNames } from './custom-columns.ts';
import { AUDIT_MAX_LENGTH, SYNC_STATUS_OPTIONS } from './custom-columns.ts';

/*
 * The sync status as the seller sees it (reference §3.5): ✔ or ✖ after the record's name (switchable, Microsoft's
 * "Display check mark in the opportunity name"), a Synced/Failed status column and the readable Audit column.
 */

export const OK_MARK = '✔';
export const FAILED_MARK = '✖';

/** Any trailing run of indicators, including ones a seller duplicated by copy-pasting a name. */
const TRAILING_MARKS = /(?:\s*[✔✖]\uFE0F?)+\s*$/u;

export function stripIndicator(title: string): string {
  return title.replace(TRAILING_MARKS, '');
}

export function currentIndicator(title: string): string | undefined {
  const match = /([✔✖])\uFE0F?\s*$/u.exec(title);
  return match?.[1];
}

export function withIndicator(title: string, ok: boolean, maxLength: number): string {
  const mark = ok ? OK_MARK : FAILED_MARK;
  const base = stripIndicator(title);
  const room = maxLength - mark.length - 1;
  return `${base.length > room ? base.slice(0, room) : base} ${mark}`;
}

/**
 * The audit text: the lines newest first, as many whole lines as fit the column; a single line longer than the column
 * is cut. The engine keeps the full history in its own audit table, so the column shows a recent window of it rather
 * than accumulating text the connector would have to read back first.
 */
export function auditText(lines: readonly string[], maxLength = AUDIT_MAX_LENGTH): string {
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

export interface StatusColumnsInput {
  status: SyncStatusUpdate;
  columns: CustomColumnNames;
  /** The record's current (or about to be written) title, indicator stripped; undefined skips the indicator. */
  title?: string | undefined;
  titleColumn: string;
  titleMaxLength: number;
}

/** The columns one status write sets. */
export function statusColumns(input: StatusColumnsInput): Record<string, unknown> {
  const body: Record<string, unknown> = {
    [input.columns.syncStatus]: input.status.ok ? SYNC_STATUS_OPTIONS.synced : SYNC_STATUS_OPTIONS.failed,
    [input.columns.audit]: auditText(input.status.auditLines),
  };
  if (input.title !== undefined) body[input.titleColumn] = withIndicator(input.title, input.status.ok, input.titleMaxLength);
  return body;
}
