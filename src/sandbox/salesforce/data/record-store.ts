import { IdBuckets } from '../../shared/id-buckets.ts';
import type { FieldValue } from '../schema/field-model.ts';

/** One row. Immutable once stored: a write stores a new object, which is what makes rollback a pointer swap. */
export interface StoredRecord {
  readonly id: string;
  readonly sobject: string;
  readonly values: Readonly<Record<string, FieldValue>>;
  /**
   * In the recycle bin: invisible to query, visible to queryAll and getDeleted (REST API "Query", REST API "sObject Get
   * Updated/Deleted").
   */
  readonly deletedAt: number | null;
  /**
   * Deleted without passing through the recycle bin (a directly deleted OpportunityTeamMember, Object Reference
   * "OpportunityTeamMember"): getDeleted still reports it, queryAll and undelete do not see it.
   */
  readonly outsideRecycleBin?: true;
  /** Insertion order, the tie-breaker for otherwise unordered results. */
  readonly sequence: number;
}

/** A field's value as unique and external-id matching may compare it (text case-insensitively): a superset key. */
function fingerprint(value: FieldValue | undefined): string | undefined {
  return value === null || value === undefined ? undefined : String(value).toLowerCase();
}

/** Ids of one sObject's rows (recycle bin included) by the fingerprint of one field. */
class FieldIndex {
  private readonly buckets = new IdBuckets();

  constructor(private readonly field: string) {}

  add(record: StoredRecord): void {
    const key = fingerprint(record.values[this.field]);
    if (key !== undefined) this.buckets.add(key, record.id);
  }

  remove(record: StoredRecord): void {
    const key = fingerprint(record.values[this.field]);
    if (key !== undefined) this.buckets.remove(key, record.id);
  }

  ids(value: FieldValue): ReadonlySet<string> {
    return this.buckets.ids(fingerprint(value));
  }
}

interface JournalEntry {
  key: string;
  sobject: string;
  previous: StoredRecord | undefined;
}

/**
 * In-memory rows per sObject with an undo journal, so an allOrNone collection or composite request can be rolled back
 * exactly, including records created, changed and deleted inside it.
 */
export class RecordStore {
  private readonly tables = new Map<string, Map<string, StoredRecord>>();
  private journal: JournalEntry[] | undefined;
  private sequence = 0;
  /** Built on first use per sObject and field, then kept in step by every write, so unique checks do not scan. */
  private readonly indexes = new Map<string, Map<string, FieldIndex>>();

  private table(sobject: string): Map<string, StoredRecord> {
    let table = this.tables.get(sobject);
    if (!table) {
      table = new Map();
      this.tables.set(sobject, table);
    }
    return table;
  }

  nextSequence(): number {
    this.sequence += 1;
    return this.sequence;
  }

  get(sobject: string, id: string): StoredRecord | undefined {
    return this.tables.get(sobject)?.get(id);
  }

  /** Live rows (not in the recycle bin) unless `includeDeleted`. */
  all(sobject: string, options: { includeDeleted?: boolean } = {}): StoredRecord[] {
    const rows = [...(this.tables.get(sobject)?.values() ?? [])];
    return options.includeDeleted ? rows : rows.filter((row) => row.deletedAt === null);
  }

  count(sobject: string): number {
    return this.all(sobject).length;
  }

  /**
   * Live rows whose `field` may equal `value` when text is compared case-insensitively: a superset of the matches,
   * which the caller narrows with its own comparison (case-sensitive fields).
   */
  candidates(sobject: string, field: string, value: FieldValue): StoredRecord[] {
    const rows: StoredRecord[] = [];
    for (const id of this.index(sobject, field).ids(value)) {
      const row = this.get(sobject, id);
      if (row && row.deletedAt === null) rows.push(row);
    }
    // Table order, as a scan would give them.
    return rows.sort((a, b) => a.sequence - b.sequence);
  }

  private index(sobject: string, field: string): FieldIndex {
    let byField = this.indexes.get(sobject);
    if (!byField) {
      byField = new Map();
      this.indexes.set(sobject, byField);
    }
    let index = byField.get(field);
    if (!index) {
      index = new FieldIndex(field);
      for (const row of this.tables.get(sobject)?.values() ?? []) index.add(row);
      byField.set(field, index);
    }
    return index;
  }

  /** Sets or removes one row, keeping the indexes in step. */
  private place(sobject: string, id: string, record: StoredRecord | undefined): void {
    const table = this.table(sobject);
    const previous = table.get(id);
    for (const index of this.indexes.get(sobject)?.values() ?? []) {
      if (previous) index.remove(previous);
      if (record) index.add(record);
    }
    if (record) table.set(id, record);
    else table.delete(id);
  }

  put(record: StoredRecord): void {
    this.journal?.push({ key: record.id, sobject: record.sobject, previous: this.get(record.sobject, record.id) });
    this.place(record.sobject, record.id, record);
  }

  /** Hard delete (purge), used by resets; deletes through the API go to the recycle bin via `put`. */
  purge(sobject: string, id: string): void {
    const previous = this.get(sobject, id);
    if (!previous) return;
    this.journal?.push({ key: id, sobject, previous });
    this.place(sobject, id, undefined);
  }

  clear(sobjects: readonly string[]): number {
    let removed = 0;
    for (const sobject of sobjects) {
      removed += this.tables.get(sobject)?.size ?? 0;
      this.tables.delete(sobject);
      this.indexes.delete(sobject);
    }
    return removed;
  }

  /**
   * Runs `work`; if it throws, every change it made is undone. A nested call is a savepoint inside the outer
   * transaction: its failure undoes only its own changes, and the outer one can still roll everything back.
   */
  transaction<T>(work: () => T): T {
    const outermost = this.journal === undefined;
    const journal = this.journal ?? [];
    this.journal = journal;
    const savepoint = journal.length;
    try {
      const result = work();
      if (outermost) this.journal = undefined;
      return result;
    } catch (error) {
      this.rollbackTo(journal, savepoint);
      if (outermost) this.journal = undefined;
      throw error;
    }
  }

  private rollbackTo(journal: JournalEntry[], savepoint: number): void {
    while (journal.length > savepoint) {
      const entry = journal.pop();
      if (!entry) break;
      this.place(entry.sobject, entry.key, entry.previous);
    }
  }
}
