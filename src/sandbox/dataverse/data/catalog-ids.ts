import { stableGuid } from '../metadata/stable-id.ts';

/** The org's base currency; new rows without `transactioncurrencyid@odata.bind` get it, as on a real org. */
export const BASE_CURRENCY_ID = stableGuid('transactioncurrency', 'USD');

export const currencyId = (isoCode: string): string => stableGuid('transactioncurrency', isoCode);
export const sdkMessageId = (name: string): string => stableGuid('sdkmessage', name);
export const sdkMessageFilterId = (message: string, entity: string): string => stableGuid('sdkmessagefilter', message, entity);
export const DEFAULT_PUBLISHER_ID = stableGuid('publisher', 'DefaultPublisher');
export const DEFAULT_SOLUTION_ID = stableGuid('solution', 'Default');

/** A connection role seeded in every sandbox org, by name (see STAKEHOLDER_ROLES in catalog.ts). */
export const connectionRoleId = (name: string): string => stableGuid('connectionrole', name.toLowerCase());

/** The access team template seeded for opportunities ("About collaborating with team templates"). */
export const OPPORTUNITY_TEAM_TEMPLATE_ID = stableGuid('teamtemplate', 'opportunity-sales-team');
