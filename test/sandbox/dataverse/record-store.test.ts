import { describe, expect, it } from 'vitest';
import { RecordStore } from '../../../src/sandbox/dataverse/data/record-store.ts';

const KEY = ['msp_referralid'];

function keyed(store: RecordStore, value: string): string[] {
  return store.candidates('opportunity', KEY, { msp_referralid: value }).map((row) => row.id);
}

describe('Dataverse sandbox record store', () => {
  it('finds rows by key columns case-insensitively, following inserts, updates and deletes', () => {
    const store = new RecordStore();
    store.insert('opportunity', 'A', { msp_referralid: 'Ref-1' });
    expect(keyed(store, 'REF-1')).toEqual(['a']);
    const row = store.insert('opportunity', 'B', { msp_referralid: 'ref-2' });
    store.replaceValues(row, { msp_referralid: 'ref-3' });
    expect(keyed(store, 'ref-2')).toEqual([]);
    expect(keyed(store, 'ref-3')).toEqual(['b']);
    store.delete('opportunity', 'a');
    expect(keyed(store, 'ref-1')).toEqual([]);
  });

  it('a failed transaction takes back its inserts, updates, deletes and tombstones, indexes included', () => {
    const store = new RecordStore();
    const kept = store.insert('opportunity', 'a', { msp_referralid: 'ref-1' });
    store.insert('opportunity', 'gone', { msp_referralid: 'ref-9' });
    expect(keyed(store, 'ref-1')).toEqual(['a']);
    const version = store.currentVersion();
    expect(() =>
      store.transaction(() => {
        store.insert('opportunity', 'b', { msp_referralid: 'ref-2' });
        store.replaceValues(kept, { msp_referralid: 'ref-5' });
        store.delete('opportunity', 'gone');
        // A nested transaction that fails on its own is taken back without ending the outer one.
        expect(() =>
          store.transaction(() => {
            store.insert('opportunity', 'c', { msp_referralid: 'ref-3' });
            throw new Error('inner');
          }),
        ).toThrow('inner');
        expect(store.get('opportunity', 'c')).toBeUndefined();
        expect(keyed(store, 'ref-2')).toEqual(['b']);
        throw new Error('outer');
      }),
    ).toThrow('outer');
    expect(store.get('opportunity', 'b')).toBeUndefined();
    expect(keyed(store, 'ref-2')).toEqual([]);
    expect(keyed(store, 'ref-5')).toEqual([]);
    expect(keyed(store, 'ref-1')).toEqual(['a']);
    expect(keyed(store, 'ref-9')).toEqual(['gone']);
    expect(store.tombstonesSince('opportunity', 0)).toEqual([]);
    expect(store.currentVersion()).toBe(version);
    store.insert('opportunity', 'd', {});
    expect(store.all('opportunity').map((row) => row.sequence)).toEqual([1, 2, 3]);
  });
});
