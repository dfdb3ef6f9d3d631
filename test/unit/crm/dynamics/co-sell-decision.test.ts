import { describe, expect, it } from 'vitest';
import type { CrmRecord } from '../../../../src/crm/connector.ts';
import type { ColumnCatalog, ColumnInfo } from '../../../../src/crm/dynamics/column-catalog.ts';
import { DynamicsCoSellDecisions } from '../../../../src/crm/dynamics/co-sell-decision.ts';
import { customColumnNames } from '../../../../src/crm/dynamics/custom-columns.ts';

const names = customColumnNames('cosell');

/** A column catalogue that knows only the given columns of every table. */
function catalogOf(columns: string[]): ColumnCatalog {
  const stub: Pick<ColumnCatalog, 'columns'> = { columns: async () => new Map(columns.map((name) => [name, {} as ColumnInfo])) };
  return stub as ColumnCatalog;
}

const record = (values: Record<string, unknown>): CrmRecord => ({ ref: { entity: 'opportunity', id: 'o' }, version: 'v', modifiedAt: '2026-01-01T00:00:00Z', modifiedByUs: false, values });

describe('the Dynamics co-sell decision columns', () => {
  it('reads Accept, and Decline with its reason as the label Partner Center receives', () => {
    const reader = new DynamicsCoSellDecisions(catalogOf([]), names);
    expect(reader.decision(record({ [names.coSellDecision]: 100_000_000 }))).toEqual({ verdict: 'accept' });
    expect(reader.decision(record({ [names.coSellDecision]: 100_000_001, [names.declineReason]: 100_000_001 }))).toEqual({ verdict: 'decline', reason: 'Customer not interested' });
    expect(reader.decision(record({ [names.coSellDecision]: 100_000_001, [names.declineReason]: null }))).toEqual({ verdict: 'decline', reason: undefined });
    expect(reader.decision(record({ [names.coSellDecision]: null }))).toBeNull();
  });

  it('asks for the columns only where the org has them (an org set up by an earlier release has none)', async () => {
    expect(await new DynamicsCoSellDecisions(catalogOf([names.coSellDecision, names.declineReason]), names).columns('opportunity')).toEqual([
      { name: names.coSellDecision },
      { name: names.declineReason },
    ]);
    expect(await new DynamicsCoSellDecisions(catalogOf(['name']), names).columns('lead')).toEqual([]);
  });
});
