import type { ReferralDirection, ReferralStatus, ReferralSubstatus } from './referral-enums.ts';
import type { ReferralContent } from './referral-schema.ts';

/** Fields the service owns: never taken from a client body. */
export interface ReferralServerFields {
  id: string;
  engagementId: string;
  organizationId: string;
  organizationName: string;
  createdDateTime: string;
  updatedDateTime: string;
  acceptedDateTime: string | null;
  closedDateTime: string | null;
  eTag: string;
  direction: ReferralDirection;
}

// An intersection, not Omit: the content type has an index signature (unknown fields are kept), which Omit would
// flatten into it, losing every named field.
export type Referral = ReferralContent & ReferralServerFields & { status: ReferralStatus; substatus: ReferralSubstatus };

export interface Organization {
  id: string;
  name: string;
}

/** Server fields a PATCH or PUT must not change (Partner Center "Referral resources": read-only on update). */
export const READ_ONLY_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'engagementId',
  'eTag',
  'createdDateTime',
  'updatedDateTime',
  'organizationId',
  'organizationName',
  'links',
  'direction',
  'acceptedDateTime',
  'closedDateTime',
]);

/** Splits a stored referral back into what a client could have written, for re-validation after a patch. */
export function contentOf(referral: Referral): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(referral)) {
    if (!READ_ONLY_FIELDS.has(key)) content[key] = value;
  }
  return content;
}
