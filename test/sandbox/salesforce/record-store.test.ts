import { describe, expect, it } from 'vitest';
import { RecordStore, type StoredRecord } from '../../../src/sandbox/salesforce/data/record-store.ts';

function row(id: string, ref: string | null, sequence: number, deletedAt: number | null = null): StoredRecord {
  return { id, sobject: 'Opportunity', values: { Id: id, Referral__c: ref }, deletedAt, sequence };
}

const ids = (store: RecordStore, value: string): string[] => store.candidates('Opportunity', 'Referral__c', value).map((record) => record.id);

describe('Salesforce sandbox record store', () => {
  it('finds live rows by a field value case-insensitively, following writes, the recycle bin and rollbacks', () => {
    const store = new RecordStore();
    store.put(row('006A', 'Ref-1', 1));
    expect(ids(store, 'REF-1')).toEqual(['006A']);
    store.put(row('006A', 'ref-2', 1));
    expect(ids(store, 'ref-1')).toEqual([]);
    store.put(row('006B', 'ref-2', 2, 1000));
    expect(ids(store, 'ref-2')).toEqual(['006A']);
    expect(() =>
      store.transaction(() => {
        store.put(row('006C', 'ref-3', 3));
        store.purge('Opportunity', '006A');
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(ids(store, 'ref-3')).toEqual([]);
    expect(ids(store, 'ref-2')).toEqual(['006A']);
  });
});
