import type { Logger } from '../../util/logger.ts';
import type { SObjectDescribe } from './describe.ts';
import { toWire } from './wire-values.ts';

/**
 * Neutral column values → an sObject request body. `@state` and `@salesStage` are not fields (the connector turns
 * them into StageName / Status). CurrencyIsoCode exists only in multi-currency orgs (Salesforce Object Reference "Opportunity"); in a
 * single-currency org it is dropped here rather than failing the write, and the mapping validation at start already
 * names the field as unknown.
 */
export function buildBody(values: Record<string, unknown>, described: SObjectDescribe, logger: Logger): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (name === '@state' || name === '@salesStage') continue;
    const field = described.field(name);
    if (!field && name.toLowerCase() === 'currencyisocode') {
      logger.debug({ sobject: described.name }, 'single-currency org: CurrencyIsoCode not written');
      continue;
    }
    body[field?.name ?? name] = toWire(value, field);
  }
  return body;
}
