import { describe, expect, it } from 'vitest';
import { mergeRecord } from '../../../../src/sync/merge/merge-record.ts';

describe('newest-wins with per-field Partner Center times', () => {
  const fields = [
    { key: 'name', direction: 'both' as const, conflict: 'newest-wins' as const },
    { key: 'notes', direction: 'both' as const, conflict: 'newest-wins' as const },
  ];
  const input = {
    fields,
    base: { name: 'Old', notes: 'old notes' },
    pc: { name: 'From Dynamics', notes: 'PC notes' },
    crm: { name: 'From Salesforce', notes: 'CRM notes' },
    // The referral's time is our own write of the Dynamics name (12:00:05); the Salesforce edit was at 12:00:03.
    pcChangedAt: '2026-12-03T12:00:05.000Z',
    crmChangedAt: '2026-12-03T12:00:03.000Z',
  };

  it('compares a value we wrote with the time of the CRM edit it came from, other fields with the record time', () => {
    const result = mergeRecord({ ...input, pcFieldChangedAt: { name: '2026-12-03T12:00:01.000Z' } });
    expect(result.toPc).toEqual({ name: 'From Salesforce' });
    expect(result.toCrm).toEqual({ notes: 'PC notes' });
    expect(result.conflicts.map((c) => [c.key, c.resolution])).toEqual([
      ['name', 'crm'],
      ['notes', 'pc'],
    ]);
  });

  it('without field times, the record time decides (what let our own write win before)', () => {
    expect(mergeRecord(input).toCrm).toEqual({ name: 'From Dynamics', notes: 'PC notes' });
  });
});
