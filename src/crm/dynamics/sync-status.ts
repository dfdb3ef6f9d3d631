import type { SyncStatusUpdate } from '../connector.ts';
import type { CustomColumnNames } from './custom-columns.ts';
import { AUDIT_MAX_LENGTH, SYNC_STATUS_OPTIONS } from './custom-columns.ts';
import { FAILED_MARK, OK_MARK, auditText as auditWindow, currentIndicator, stripIndicator, withIndicator } from '../sync-indicator.ts';

/*
 * The sync status as the seller sees it ("Co-sell connector for Dynamics 365 CRM overview"): ✔ or ✖ after the record's
 * name (switchable, Microsoft's "Display check mark in the opportunity name"), a Synced/Failed status column and the
 * readable Audit column.
 */

export { FAILED_MARK, OK_MARK, currentIndicator, stripIndicator, withIndicator };

export function auditText(lines: readonly string[], maxLength: number = AUDIT_MAX_LENGTH): string {
  return auditWindow(lines, maxLength);
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
    [input.columns.syncStatus]: input.status.paused
      ? SYNC_STATUS_OPTIONS.paused
      : input.status.ok
        ? SYNC_STATUS_OPTIONS.synced
        : input.status.conflict
          ? SYNC_STATUS_OPTIONS.conflict
          : SYNC_STATUS_OPTIONS.failed,
    [input.columns.audit]: auditText(input.status.auditLines),
  };
  if (input.title !== undefined) body[input.titleColumn] = withIndicator(input.title, input.status.ok, input.titleMaxLength);
  return body;
}
