import { describe, expect, it } from 'vitest';
import type { Referral } from '../../../../src/partner-center/model.ts';
import { planDealSolutionsSync, SOLUTIONS_BASE, SOLUTIONS_HELD_BASE, UNKNOWN_SOLUTIONS_BASE } from '../../../../src/sync/plan/deal-solutions.ts';
import type { CanonicalRecord } from '../../../../src/canonical-value.ts';

/* The three-way merge of a co-sell deal's solutions (CRM ⇄ details.requirements.solutions), as a pure plan. */

const referral = (ids: string[]): Referral => ({ id: 'ref-1', type: 'Shared', details: { requirements: { solutions: ids.map((id) => ({ type: 'Name', id })) } } }) as Referral;
const plan = (input: { crm: string[]; pc: string[]; base?: CanonicalRecord; catalogue?: string[] }) =>
  planDealSolutionsSync({
    stamp: { connection: 'crm', cause: 'event' },
    referralId: 'ref-1',
    referral: referral(input.pc),
    ref: { entity: 'opportunity', id: 'opp-1' },
    crm: input.crm,
    base: input.base,
    catalogue: input.catalogue ? new Set(input.catalogue.map((id) => id.toLowerCase())) : undefined,
  });
const pcIds = (p: ReturnType<typeof plan>) => (p.toPc?.value as Array<{ id: string }> | undefined)?.map((s) => s.id);

describe('planDealSolutionsSync', () => {
  it('without a stored set (a pair linked before) nothing is removed: each side gets the other\'s additions', () => {
    const p = plan({ crm: ['A', 'B'], pc: ['B', 'C'], catalogue: ['A', 'B', 'C'] });
    expect(p.toCrm).toEqual(['A', 'B', 'C']);
    expect(pcIds(p)).toEqual(['A', 'B', 'C']);
    expect(p.nextBase[SOLUTIONS_BASE]).toEqual(['A', 'B', 'C']);
  });

  it('a removal on either side is removed on the other; ids compare case-insensitively', () => {
    const p = plan({ crm: ['a', 'C'], pc: ['A', 'B'], base: { [SOLUTIONS_BASE]: ['A', 'B', 'C'] }, catalogue: ['A', 'B', 'C'] });
    expect(p.toCrm).toEqual(['A']);
    expect(pcIds(p)).toEqual(['A']);
  });

  it('an id Partner Center holds that the catalogue lacks stays there, is not created in the CRM, and is audited once', () => {
    const first = plan({ crm: ['A'], pc: ['A', 'X'], base: { [SOLUTIONS_BASE]: ['A'] }, catalogue: ['A'] });
    expect(first.toCrm).toBeNull();
    expect(first.toPc).toBeNull();
    expect(first.audit.map((e) => e.message)).toEqual([expect.stringContaining('X is on the referral but not in the CRM')]);
    const again = plan({ crm: [], pc: ['A', 'X'], base: first.nextBase, catalogue: ['A'] });
    expect(pcIds(again)).toEqual(['X']);
    expect(again.audit.filter((e) => e.outcome === 'skipped')).toEqual([]);
    expect(again.nextBase[UNKNOWN_SOLUTIONS_BASE]).toEqual(['X']);
  });

  it('removing the last solution is held once (✖), and released when one is chosen again', () => {
    const held = plan({ crm: [], pc: ['A'], base: { [SOLUTIONS_BASE]: ['A'] }, catalogue: ['A', 'B'] });
    expect([held.toCrm, held.toPc, held.status]).toEqual([null, null, 'held']);
    expect(held.nextBase[SOLUTIONS_HELD_BASE]).toBe(true);
    expect(held.audit).toHaveLength(1);
    const still = plan({ crm: [], pc: ['A'], base: held.nextBase, catalogue: ['A', 'B'] });
    expect([still.status, still.audit]).toEqual([null, []]);
    const released = plan({ crm: ['B'], pc: ['A'], base: still.nextBase, catalogue: ['A', 'B'] });
    expect(released.status).toBe('released');
    expect(pcIds(released)).toEqual(['B']);
  });
});
