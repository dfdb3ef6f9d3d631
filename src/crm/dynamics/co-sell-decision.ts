import type { CoSellDecision, CoSellDecisionReader, ColumnRequest, CrmEntityName, CrmRecord } from '../connector.ts';
import type { ColumnCatalog } from './column-catalog.ts';
import { CO_SELL_DECISION_OPTIONS, declineReasonText, type CustomColumnNames } from './custom-columns.ts';
import { tableFor } from './tables.ts';

/**
 * The "Co-sell Decision" choice (Accept / Decline) and the "Decline Reason" choice that `cosell setup dynamics` adds to
 * the opportunity and the lead. An org set up by an earlier release lacks them: then there is nothing to read, rather
 * than a $select Dataverse would refuse.
 */
export class DynamicsCoSellDecisions implements CoSellDecisionReader {
  constructor(
    private readonly catalog: ColumnCatalog,
    private readonly names: Pick<CustomColumnNames, 'coSellDecision' | 'declineReason'>,
  ) {}

  async columns(entity: CrmEntityName): Promise<readonly ColumnRequest[]> {
    const catalog = await this.catalog.columns(tableFor(entity).logicalName);
    if (!catalog.has(this.names.coSellDecision)) return [];
    return [{ name: this.names.coSellDecision }, ...(catalog.has(this.names.declineReason) ? [{ name: this.names.declineReason }] : [])];
  }

  decision(record: CrmRecord): CoSellDecision | null {
    const value = record.values[this.names.coSellDecision];
    if (value === CO_SELL_DECISION_OPTIONS.accept) return { verdict: 'accept' };
    if (value !== CO_SELL_DECISION_OPTIONS.decline) return null;
    const reason = record.values[this.names.declineReason];
    return { verdict: 'decline', reason: declineReasonText(typeof reason === 'number' ? reason : null) };
  }
}
