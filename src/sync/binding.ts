import type { CrmEntityName } from '../crm/connector.ts';
import type { Referral } from '../partner-center/model.ts';
import {
  canonicalToCrm,
  canonicalToReferralChanges,
  crmToCanonical,
  isLookupReference,
  referralToCanonical,
  type EntitySpec,
  type MappingSpec,
} from './mapping/index.ts';
import { crmColumnsToRead } from './mapping/crm-columns.ts';
import { lossReasonConversion } from './mapping/loss-reason.ts';
import type { EntityMapping } from './entity-mapping.ts';

/**
 * The engine's view of one entity of a mapping file. Lookup columns leave the mapping as references carrying the
 * canonical code; the connectors resolve codes (e.g. a currency's ISO code) themselves, so the code is what they get.
 */
export function bindEntity(spec: EntitySpec): EntityMapping {
  return {
    entity: spec.entity,
    fields: spec.fields.map((f) => ({ key: f.key, direction: f.direction, conflict: f.conflict, linkOnly: f.linkOnly })),
    columns: crmColumnsToRead(spec),
    readsMicrosoftReferral: spec.fields.some((f) => f.pc.some((p) => p.source === 'microsoft')),
    ...(spec.lossReason ? { lossReason: lossReasonConversion(spec.lossReason) } : {}),
    ...(spec.propagateContactRemovals ? { propagateContactRemovals: true } : {}),
    ...(spec.syncContactsAndTeam ? { syncContactsAndTeam: true } : {}),
    referralToCanonical: (referral: Referral, microsoftReferral?: Referral | null) =>
      referralToCanonical(spec, referral, microsoftReferral === undefined ? {} : { microsoftReferral }),
    crmToCanonical: (values) => crmToCanonical(spec, values),
    canonicalToCrm: (changes) => {
      const out = canonicalToCrm(spec, changes);
      for (const [column, value] of Object.entries(out)) if (isLookupReference(value)) out[column] = value.value;
      return out;
    },
    canonicalToReferralChanges: (changes, current) => canonicalToReferralChanges(spec, changes, current ? { current } : {}),
  };
}

export function bindMapping(spec: MappingSpec): Partial<Record<CrmEntityName, EntityMapping>> {
  const out: Partial<Record<CrmEntityName, EntityMapping>> = {};
  for (const entity of Object.values(spec.entities)) {
    // Contacts are one PC list item each; the engine syncs deals, and customers through ensureCustomer.
    if (entity && entity.pcItems === undefined) out[entity.entity] = bindEntity(entity);
  }
  return out;
}
