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

  put(record: StoredRecord): void {
    const table = this.table(record.sobject);
    this.journal?.push({ key: record.id, sobject: record.sobject, previous: table.get(record.id) });
    table.set(record.id, record);
  }

  /** Hard delete (purge), used by resets; deletes through the API go to the recycle bin via `put`. */
  purge(sobject: string, id: string): void {
    const table = this.tables.get(sobject);
    if (!table?.has(id)) return;
    this.journal?.push({ key: id, sobject, previous: table.get(id) });
    table.delete(id);
  }

  clear(sobjects: readonly string[]): number {
    let removed = 0;
    for (const sobject of sobjects) {
      removed += this.tables.get(sobject)?.size ?? 0;
      this.tables.delete(sobject);
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
      const table = this.table(entry.sobject);
      if (entry.previous) table.set(entry.key, entry.previous);
      else table.delete(entry.key);
    }
  }
}
