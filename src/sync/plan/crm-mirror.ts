import type { CanonicalRecord } from '../../canonical-value.ts';
import type { EntityMapping } from '../entity-mapping.ts';
import { canonicalEquals } from '../mapping/canonical.ts';

/*
 * Whether a commit's base is exactly what the CRM record holds at the committed version: the condition for planning a
 * later sync against the base instead of a read of the record (see run/blind-crm-write.ts). Not so when a field was
 * held back from Partner Center (its base keeps the old value while the record has the seller's), a conflict is held,
 * or the record holds a value the base does not.
 */

/** Base key: true when the base is the record's values at the link's crmVersion. */
export const CRM_MATCHES_BASE = '@crmMatchesBase';

/** The CRM side of a record taken as the base: the mapping's fields as last committed. */
export function crmSideFromBase(mapping: Pick<EntityMapping, 'fields'>, base: CanonicalRecord | undefined): CanonicalRecord {
  const crm: CanonicalRecord = {};
  for (const { key } of mapping.fields) {
    const value = base?.[key];
    if (value !== undefined) crm[key] = value;
  }
  return crm;
}

/** `base` with the mark set when the record, once `toCrm` is written over `crm`, holds every field as `base` says. */
export function markCrmMatch(input: { mapping: Pick<EntityMapping, 'fields'>; crm: CanonicalRecord; toCrm: CanonicalRecord; base: CanonicalRecord; held: boolean }): CanonicalRecord {
  const { mapping, crm, toCrm, base } = input;
  const after: CanonicalRecord = { ...crm, ...toCrm };
  const { [CRM_MATCHES_BASE]: _previous, ...rest } = base;
  const matches = !input.held && mapping.fields.every(({ key }) => canonicalEquals(after[key] ?? null, base[key] ?? null));
  return matches ? { ...rest, [CRM_MATCHES_BASE]: true } : rest;
}
