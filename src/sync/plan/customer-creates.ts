import type { CreatedCustomerRecord, UnfilledLookup } from '../../crm/connector.ts';

/*
 * What the audit says of customer records a create made. A lookup whose code no row of its table holds (an ISO code
 * missing from the partner's country table) leaves the column empty rather than failing the deal, so the operator
 * reads it here and in the opportunity's Sync Audit, naming the column, the table and the code.
 */

function gapText(gap: UnfilledLookup): string {
  return `${gap.column} left empty: no ${gap.table} row has ${gap.by} = "${gap.code}"`;
}

/** The store audit's message for one created customer record. */
export function customerCreatedMessage(record: CreatedCustomerRecord): string {
  return [`customer ${record.entity} created`, ...(record.unfilled ?? []).map(gapText)].join('; ');
}

/** Sync Audit lines for the lookups the customer creates left empty (none when every lookup was filled). */
export function unfilledLookupLines(created: readonly CreatedCustomerRecord[], now: Date = new Date()): string[] {
  return created.flatMap((record) => (record.unfilled ?? []).map((gap) => `${now.toISOString()} customer ${record.entity}: ${gapText(gap)}`));
}
