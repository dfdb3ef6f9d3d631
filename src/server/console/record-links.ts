import type { Config } from '../../config/schema.ts';
import type { RecordUrls } from '../admin-api.ts';

/** Where a referral and a CRM record open in their vendors' web UIs. */
export interface RecordLinks {
  referral(referralId: string): string;
  crmRecord(connection: string, entity: string, id: string): string | null;
}

/*
 * Partner Center: the same deep link the bundled mappings write into the CRM's "Referral Link" column (its format is
 * not documented by Microsoft beyond "a link"). Dynamics 365: the model-driven app's record URL ("Open apps, forms,
 * views, dialogs, and reports with a URL", Microsoft Learn). Salesforce: Lightning Experience's record URL
 * (`/lightning/r/<Object>/<id>/view`, "Lightning Experience URL Format", Salesforce Help).
 */
export function recordLinksFromConfig(config: Config): RecordLinks {
  const bases = new Map<string, (entity: string, id: string) => string>();
  if (config.dynamics) {
    const org = config.dynamics.orgUrl.replace(/\/+$/, '');
    bases.set(config.dynamics.name, (entity, id) => `${org}/main.aspx?pagetype=entityrecord&etn=${encodeURIComponent(entity)}&id=${encodeURIComponent(id)}`);
  }
  if (config.salesforce) {
    const instance = config.salesforce.instanceUrl.replace(/\/+$/, '');
    const object = (entity: string) => entity.charAt(0).toUpperCase() + entity.slice(1);
    bases.set(config.salesforce.name, (entity, id) => `${instance}/lightning/r/${encodeURIComponent(object(entity))}/${encodeURIComponent(id)}/view`);
  }
  return {
    referral: (referralId) => `https://partner.microsoft.com/dashboard/v2/referrals/${encodeURIComponent(referralId)}`,
    crmRecord: (connection, entity, id) => bases.get(connection)?.(entity, id) ?? null,
  };
}

export const noRecordLinks: RecordLinks = {
  referral: (referralId) => `https://partner.microsoft.com/dashboard/v2/referrals/${encodeURIComponent(referralId)}`,
  crmRecord: () => null,
};

export function urlsOf(links: RecordLinks, deal: { connection: string; referralId: string | null; crmEntity: string | null; crmId: string | null }): RecordUrls {
  return {
    partnerCenterUrl: deal.referralId === null ? null : links.referral(deal.referralId),
    crmUrl: deal.crmEntity && deal.crmId ? links.crmRecord(deal.connection, deal.crmEntity, deal.crmId) : null,
  };
}
