import type { StoredRecord, RecordValues } from './record.ts';

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
 * The org's rows, keyed by table and id. All operations are synchronous, so a change set applied inside
 * {@link transaction} cannot interleave with another request: atomicity comes from snapshot + restore.
 */
export class RecordStore {
  private state: StoreState = RecordStore.emptyState();

  private static emptyState(): StoreState {
    return { tables: new Map(), tombstones: [], rowVersion: INITIAL_ROW_VERSION, sequence: 0 };
  }

  clear(): void {
    this.state = RecordStore.emptyState();
  }

  /** Removes every row of the given tables, recording no tombstones (a reset is not a delete a client should see). */
  clearTables(entities: readonly string[]): void {
    for (const entity of entities) this.state.tables.delete(entity);
    const cleared = new Set(entities);
    this.state.tombstones = this.state.tombstones.filter((tombstone) => !cleared.has(tombstone.entity));
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

  insert(entity: string, id: string, values: RecordValues): StoredRecord {
    this.state.sequence += 1;
    const record: StoredRecord = { entity, id: id.toLowerCase(), sequence: this.state.sequence, values };
    this.table(entity).set(record.id, record);
    return record;
  }

  replaceValues(record: StoredRecord, values: RecordValues): StoredRecord {
    const updated: StoredRecord = { ...record, values };
    this.table(record.entity).set(record.id, updated);
    return updated;
  }

  delete(entity: string, id: string): boolean {
    const table = this.state.tables.get(entity);
    const key = id.toLowerCase();
    if (!table?.has(key)) return false;
    table.delete(key);
    this.state.tombstones.push({ entity, id: key, version: this.nextVersion() });
    return true;
  }

  tombstonesSince(entity: string, version: number): Tombstone[] {
    return this.state.tombstones.filter((tombstone) => tombstone.entity === entity && tombstone.version > version);
  }

  /** Runs `work`; if it throws, every row, tombstone and counter is restored to what it was before. */
  transaction<T>(work: () => T): T {
    const snapshot = structuredClone(this.state);
    try {
      return work();
    } catch (error) {
      this.state = snapshot;
      throw error;
    }
  }
}
