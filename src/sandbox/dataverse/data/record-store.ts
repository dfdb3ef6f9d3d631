import { IdBuckets } from '../../shared/id-buckets.ts';
import { isEntityReference, type StoredRecord, type RecordValues, type StoredValue } from './record.ts';

export interface Tombstone {
  entity: string;
  id: string;
  /** Row version current when the delete happened; delta queries compare against it. */
  version: number;
}

interface StoreState {
  tables: Map<string, Map<string, StoredRecord>>;
  tombstones: Tombstone[];
  rowVersion: number;
  sequence: number;
}

/** Real row versions are large org-wide counters; starting high keeps ETags looking like `W/"1000123"`. */
const INITIAL_ROW_VERSION = 1_000_000;

/**
 * One column's value as a unique index compares it: SQL Server's case-insensitive collation for text, the id for a
 * lookup. Values that compare equal always give the same fingerprint; callers still compare the rows they get back.
 */
function fingerprint(value: StoredValue | undefined): string {
  if (isEntityReference(value)) return `r:${value.id}`;
  if (typeof value === 'string') return `s:${value.toLowerCase()}`;
  if (value === null || value === undefined) return 'null';
  return `${typeof value}:${JSON.stringify(value)}`;
}

function fingerprintOf(attributes: readonly string[], values: RecordValues): string {
  return attributes.map((name) => fingerprint(values[name])).join('\u0000');
}

/** Rows of one table grouped by the fingerprint of a fixed set of columns. */
class ValueIndex {
  private readonly buckets = new IdBuckets();

  constructor(readonly attributes: readonly string[]) {}

  add(record: StoredRecord): void {
    this.buckets.add(fingerprintOf(this.attributes, record.values), record.id);
  }

  remove(record: StoredRecord): void {
    this.buckets.remove(fingerprintOf(this.attributes, record.values), record.id);
  }

  ids(values: RecordValues): ReadonlySet<string> {
    return this.buckets.ids(fingerprintOf(this.attributes, values));
  }
}

/** Writes made inside the open transaction(s), newest last, each with the step that takes it back. */
type UndoLog = Array<() => void>;

/**
 * The org's rows, keyed by table and id. All operations are synchronous, so a change set applied inside
 * {@link transaction} cannot interleave with another request: atomicity comes from an undo log of the writes made
 * inside it (a copy of the whole org per change set made a backfill's change sets cost time in the size of the org).
 * Alternate-key lookups go through value indexes built on first use and kept up to date by every write here, so a
 * keyed create or lookup does not scan the table.
 */
export class RecordStore {
  private state: StoreState = RecordStore.emptyState();
  private indexes = new Map<string, Map<string, ValueIndex>>();
  private undo: UndoLog | undefined;

  private static emptyState(): StoreState {
    return { tables: new Map(), tombstones: [], rowVersion: INITIAL_ROW_VERSION, sequence: 0 };
  }

  clear(): void {
    const before = this.state;
    this.state = RecordStore.emptyState();
    this.indexes.clear();
    this.undo?.push(() => {
      this.state = before;
      this.indexes.clear();
    });
  }

  /** Removes every row of the given tables, recording no tombstones (a reset is not a delete a client should see). */
  clearTables(entities: readonly string[]): void {
    const tables = new Map(this.state.tables);
    const tombstones = this.state.tombstones;
    for (const entity of entities) {
      this.state.tables.delete(entity);
      this.indexes.delete(entity);
    }
    const cleared = new Set(entities);
    this.state.tombstones = this.state.tombstones.filter((tombstone) => !cleared.has(tombstone.entity));
    this.undo?.push(() => {
      this.state.tables = tables;
      this.state.tombstones = tombstones;
      for (const entity of entities) this.indexes.delete(entity);
    });
  }

  currentVersion(): number {
    return this.state.rowVersion;
  }

  nextVersion(): number {
    this.state.rowVersion += 1;
    return this.state.rowVersion;
  }

  private table(entity: string): Map<string, StoredRecord> {
    let table = this.state.tables.get(entity);
    if (!table) {
      table = new Map();
      this.state.tables.set(entity, table);
    }
    return table;
  }

  get(entity: string, id: string): StoredRecord | undefined {
    return this.state.tables.get(entity)?.get(id.toLowerCase());
  }

  all(entity: string): StoredRecord[] {
    return [...(this.state.tables.get(entity)?.values() ?? [])];
  }

  count(entity: string): number {
    return this.state.tables.get(entity)?.size ?? 0;
  }

  /**
   * Rows of `entity` whose `attributes` may hold `values` under the unique-index comparison (case-insensitive text,
   * lookups by id): a superset of the matches, which the caller filters with its own comparison.
   */
  candidates(entity: string, attributes: readonly string[], values: RecordValues): StoredRecord[] {
    const index = this.index(entity, attributes);
    const rows: StoredRecord[] = [];
    for (const id of index.ids(values)) {
      const row = this.get(entity, id);
      if (row) rows.push(row);
    }
    return rows;
  }

  private index(entity: string, attributes: readonly string[]): ValueIndex {
    let byColumns = this.indexes.get(entity);
    if (!byColumns) {
      byColumns = new Map();
      this.indexes.set(entity, byColumns);
    }
    const name = attributes.join(',');
    let index = byColumns.get(name);
    if (!index) {
      index = new ValueIndex(attributes);
      for (const row of this.state.tables.get(entity)?.values() ?? []) index.add(row);
      byColumns.set(name, index);
    }
    return index;
  }

  /** Puts `record` in its table (or takes the row with its id out), keeping the indexes in step. */
  private place(entity: string, id: string, record: StoredRecord | undefined): void {
    const table = this.table(entity);
    const previous = table.get(id);
    const indexes = this.indexes.get(entity)?.values() ?? [];
    for (const index of indexes) {
      if (previous) index.remove(previous);
      if (record) index.add(record);
    }
    if (record) table.set(id, record);
    else table.delete(id);
    if (this.undo) this.undo.push(() => this.place(entity, id, previous));
  }

  insert(entity: string, id: string, values: RecordValues): StoredRecord {
    this.state.sequence += 1;
    const record: StoredRecord = { entity, id: id.toLowerCase(), sequence: this.state.sequence, values };
    this.place(entity, record.id, record);
    return record;
  }

  replaceValues(record: StoredRecord, values: RecordValues): StoredRecord {
    const updated: StoredRecord = { ...record, values };
    this.place(record.entity, record.id, updated);
    return updated;
  }

  delete(entity: string, id: string): boolean {
    const key = id.toLowerCase();
    if (!this.state.tables.get(entity)?.has(key)) return false;
    this.place(entity, key, undefined);
    this.state.tombstones.push({ entity, id: key, version: this.nextVersion() });
    return true;
  }

  tombstonesSince(entity: string, version: number): Tombstone[] {
    return this.state.tombstones.filter((tombstone) => tombstone.entity === entity && tombstone.version > version);
  }

  /**
   * Runs `work`; if it throws, every row, tombstone and counter is restored to what it was before. Rows must change only
   * through this store's methods (never by mutating a record's values), or a rollback cannot take the change back.
   */
  transaction<T>(work: () => T): T {
    const outer = this.undo === undefined;
    const log: UndoLog = this.undo ?? [];
    const mark = log.length;
    const { rowVersion, sequence } = this.state;
    const tombstones = this.state.tombstones.length;
    this.undo = log;
    try {
      return work();
    } catch (error) {
      // Undo steps must not log themselves.
      this.undo = undefined;
      while (log.length > mark) log.pop()?.();
      this.state.tombstones.length = Math.min(this.state.tombstones.length, tombstones);
      this.state.rowVersion = rowVersion;
      this.state.sequence = sequence;
      this.undo = outer ? undefined : log;
      throw error;
    } finally {
      if (outer) this.undo = undefined;
    }
  }
}
