import type { CrmConnector, CustomerProfile } from '../../crm/connector.ts';

/**
 * "Create or get customer account" is a read then a create: two syncs for the same new customer at once would both
 * miss the account and both create one. Serialised per connection and company name (case-insensitive, as the CRMs
 * match it; coarser than name + postal code, so never too fine), the second finds the first one's account.
 */
export function customerKey(connector: Pick<CrmConnector, 'name'>, profile: CustomerProfile): string {
  return `${connector.name}:${profile.name.trim().toLowerCase()}`;
}
