import type { StoredRecord } from './record-store.ts';

export type ChangeType = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';

/**
 * One committed row change, the raw material of change events (Change Data Capture Developer Guide) and outbound
 * messages (SOAP API "Outbound Messaging").
 */
export interface RecordChange {
  changeType: ChangeType;
  sobject: string;
  recordId: string;
  before: StoredRecord | undefined;
  after: StoredRecord;
  /** Fields whose value changed (UPDATE) or that were set (CREATE); canonical names. */
  changedFields: string[];
  userId: string;
  changeOrigin: string;
  at: number;
}

/** Who is writing and how: `LastModifiedById`, CDC `commitUser` and `changeOrigin` come from here. */
export interface WriteContext {
  userId: string;
  /**
   * `com/salesforce/api/rest/62.0;client=<name>` for API writes (REST API Developer Guide, Change Data Capture
   * Developer Guide); what the UI would send for sellers.
   */
  changeOrigin: string;
  changes: ChangeCollector;
}

/**
 * Changes made by one request. They are published only after the request's transaction commits, so a rolled-back
 * allOrNone batch raises no events — as in Salesforce, where events fire on commit.
 */
export class ChangeCollector {
  private items: RecordChange[] = [];

  add(change: RecordChange): void {
    this.items.push(change);
  }

  /** Remembers where a savepoint is, so a failed item inside a partial-success batch can discard its own changes. */
  mark(): number {
    return this.items.length;
  }

  rollbackTo(mark: number): void {
    this.items.length = mark;
  }

  drain(): RecordChange[] {
    const drained = this.items;
    this.items = [];
    return drained;
  }
}
