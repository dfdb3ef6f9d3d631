import type { SyncStatusUpdate } from '../connector.ts';
import { AUDIT_MAX_LENGTH, FIELDS, SYNC_STATUS_VALUES } from './custom-fields.ts';
import { FAILED_MARK, OK_MARK, auditText as auditWindow, currentIndicator, stripIndicator, withIndicator } from '../sync-indicator.ts';

/*
 * The sync status as the seller sees it ("Co-sell connector for Salesforce CRM - overview"): ✔ or ✖ after the
 * opportunity's Name (Microsoft's "Display check mark in the opportunity name", switchable), the Sync_Status__c
 * picklist and the readable Audit__c. The marks and the audit window are shared with every CRM (../sync-indicator.ts).
 */

export { FAILED_MARK, OK_MARK, currentIndicator, stripIndicator, withIndicator };

export function auditText(lines: readonly string[], maxLength: number = AUDIT_MAX_LENGTH): string {
  return auditWindow(lines, maxLength);
}

/** The fields one status write sets (the name indicator is added by the caller, which knows the current name). */
export function statusFields(status: SyncStatusUpdate, auditMaxLength: number): Record<string, string> {
  return {
    [FIELDS.syncStatus]: status.paused
      ? SYNC_STATUS_VALUES.paused
      : status.ok
        ? SYNC_STATUS_VALUES.synced
        : status.conflict
          ? SYNC_STATUS_VALUES.conflict
          : SYNC_STATUS_VALUES.failed,
    [FIELDS.audit]: auditText(status.auditLines, auditMaxLength),
  };
}
