import type { CrmConnector, CrmRecord, CustomerProfile } from '../../crm/connector.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { CanonicalRecord } from '../../canonical-value.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { canonicalEquals } from '../mapping/canonical.ts';

/** How a CRM stores a value it has to shorten (the connector's `heldValue`), bound to its connector. */
export type HeldValue = NonNullable<CrmConnector['heldValue']>;

/**
 * The CRM record's values as canonical ones, where a value the CRM had to shorten (a long name cut to fit next to the
 * ✔ mark) reads as the full value it was cut from: the cut is the CRM's limit, not a seller's edit, and must never flow
 * back over Partner Center (and from there over another CRM). `references` are the values it may have been cut from:
 * Partner Center's now and the base.
 */
export function crmCanonical(input: {
  mapping: EntityMapping;
  record: CrmRecord;
  references: ReadonlyArray<CanonicalRecord | undefined>;
  heldValue: HeldValue | undefined;
}): CanonicalRecord {
  const { mapping, record, references, heldValue: held } = input;
  const crm = mapping.crmToCanonical(record.values);
  if (!held) return crm;
  for (const { key } of mapping.fields) {
    const have = crm[key];
    if (typeof have !== 'string') continue;
    for (const reference of references) {
      const full = reference?.[key];
      if (typeof full !== 'string' || full === have || !full.startsWith(have)) continue;
      const written = mapping.canonicalToCrm({ [key]: full });
      const stored = Object.fromEntries(Object.entries(written).map(([column, value]) => [column, held(record.ref.entity, column, value)]));
      if (canonicalEquals(mapping.crmToCanonical(stored)[key] ?? null, have)) {
        crm[key] = full;
        break;
      }
    }
  }
  return crm;
}

export function customerFromReferral(referral: Referral): CustomerProfile {
  const profile = referral.customerProfile;
  const address = profile?.address;
  return {
    name: profile?.name ?? '',
    postalCode: address?.postalCode ?? undefined,
    addressLine1: address?.addressLine1 ?? undefined,
    city: address?.city ?? undefined,
    state: address?.state ?? undefined,
    country: address?.country ?? undefined,
    contacts: (profile?.team ?? []).map((m) => ({
      firstName: m.firstName ?? undefined,
      lastName: m.lastName ?? undefined,
      email: m.email ?? undefined,
      phone: m.phoneNumber ?? undefined,
    })),
  };
}
