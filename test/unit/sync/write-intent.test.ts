import { describe, expect, it } from 'vitest';
import type { WriteIntent } from '../../../src/store/types.ts';
import { baseAfterUnfinishedSync } from '../../../src/sync/write-intent.ts';
import type { CanonicalRecord } from '../../../src/canonical-value.ts';

const intent = (base: CanonicalRecord, toCrm: CanonicalRecord = {}, toPc: CanonicalRecord = {}): WriteIntent => ({
  connection: 'dynamics',
  referralId: 'r1',
  crmEntity: 'opportunity',
  base,
  toCrm,
  toPc,
});

describe('the base after a sync that wrote but never committed', () => {
  it('is the committed base when nothing was announced', () => {
    const base = { dealValue: 1 };
    expect(baseAfterUnfinishedSync(base, null, { pc: { dealValue: 2 }, crm: { dealValue: 3 } })).toBe(base);
    expect(baseAfterUnfinishedSync(undefined, null, { pc: {}, crm: {} })).toBeUndefined();
  });

  it('takes an announced value into the base only where the target side holds it now', () => {
    const base = { dealValue: 1, notes: 'old', tags: ['a'] };
    const announced = intent(base, { dealValue: 2, tags: ['a', 'b'] }, { notes: 'from crm' });
    // dealValue landed in the CRM; tags did not (a seller changed them since); notes landed in Partner Center.
    const recovered = baseAfterUnfinishedSync(base, announced, {
      pc: { dealValue: 5, notes: 'from crm', tags: ['a'] },
      crm: { dealValue: 2, notes: 'from crm', tags: ['c'] },
    });
    expect(recovered).toEqual({ dealValue: 2, notes: 'from crm', tags: ['a'] });
    expect(base).toEqual({ dealValue: 1, notes: 'old', tags: ['a'] });
  });

  it('treats multi-select values as sets and an unreadable side as not landed', () => {
    const recovered = baseAfterUnfinishedSync({ tags: ['a'], dealValue: 1 }, intent({ tags: ['a'], dealValue: 1 }, { tags: ['b', 'a'], dealValue: 2 }), {
      pc: {},
      crm: { tags: ['a', 'b'] },
    });
    expect(recovered).toEqual({ tags: ['b', 'a'], dealValue: 1 });
  });

  it('starts from the intent’s base, so what an earlier unfinished sync recovered is not forgotten', () => {
    // Sync 1 wrote dealValue 2 to the CRM and died; sync 2 started from the recovered base {dealValue: 2}, announced
    // only a notes write to Partner Center and died too. Sync 3 must still know the 2 in the CRM is ours.
    const recovered = baseAfterUnfinishedSync({ dealValue: 1, notes: 'a' }, intent({ dealValue: 2, notes: 'a' }, {}, { notes: 'b' }), {
      pc: { dealValue: 3, notes: 'b' },
      crm: { dealValue: 2, notes: 'b' },
    });
    expect(recovered).toEqual({ dealValue: 2, notes: 'b' });
  });

  it('makes the created values the base of a record that was created but never linked', () => {
    const created = { dealValue: 5_000, notes: 'Shared by Microsoft', referralId: 'r1' };
    expect(baseAfterUnfinishedSync(undefined, intent(created), { pc: { dealValue: 6_000 }, crm: { notes: 'Seller edit' } })).toEqual(created);
  });
});
