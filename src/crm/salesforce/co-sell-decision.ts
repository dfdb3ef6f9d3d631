import type { CoSellDecision, CoSellDecisionReader, ColumnRequest, CrmEntityName, CrmRecord } from '../connector.ts';
import { FIELDS } from './custom-fields.ts';
import type { DescribeCache } from './describe.ts';
import { sobjectFor } from './objects.ts';

/**
 * A Salesforce seller accepts an incoming co-sell referral by moving the opportunity out of the on-hold stage (the
 * connector's stage rule) and declines it by choosing a Decline Reason (`Decline_Reason__c`, created by
 * `cosell setup salesforce`). An org without the field has nothing to read, rather than a SOQL query Salesforce refuses.
 */
export class SalesforceCoSellDecisions implements CoSellDecisionReader {
  constructor(private readonly metadata: DescribeCache) {}

  async columns(entity: CrmEntityName): Promise<readonly ColumnRequest[]> {
    const described = await this.metadata.describe(sobjectFor(entity).sobject);
    return described.field(FIELDS.declineReason) ? [{ name: FIELDS.declineReason }] : [];
  }

  decision(record: CrmRecord): CoSellDecision | null {
    const reason = record.values[FIELDS.declineReason];
    return typeof reason === 'string' && reason.trim() !== '' ? { verdict: 'decline', reason: reason.trim() } : null;
  }
}
