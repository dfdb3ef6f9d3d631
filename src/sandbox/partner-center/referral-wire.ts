import type { Referral } from './referral-model.ts';

export const REFERRALS_PATH = '/v1.0/engagements/referrals';

/**
 * Key order and null-filled keys follow the documented create response ("Create a referral"): the service serializes
 * absent scalars as null (`externalReferenceId`, `expirationDateTime`), so clients must already cope with that.
 * `acceptedDateTime`, `closedDateTime` and `direction` are V3 fields that postdate the sample.
 */
export function referralToWire(referral: Referral, baseUrl: string): Record<string, unknown> {
  const {
    id,
    engagementId,
    organizationId,
    organizationName,
    name,
    externalReferenceId,
    createdDateTime,
    updatedDateTime,
    expirationDateTime,
    acceptedDateTime,
    closedDateTime,
    status,
    substatus,
    statusReason,
    qualification,
    type,
    direction,
    eTag,
    target,
    customerProfile,
    consent,
    details,
    team,
    inviteContext,
    ...rest
  } = referral;
  const extras = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  return {
    id,
    engagementId,
    organizationId,
    organizationName,
    name,
    externalReferenceId: externalReferenceId ?? null,
    createdDateTime,
    updatedDateTime,
    expirationDateTime: expirationDateTime ?? null,
    acceptedDateTime,
    closedDateTime,
    status,
    substatus,
    statusReason: statusReason ?? null,
    qualification: qualification ?? null,
    type,
    direction,
    eTag,
    target: target ?? [],
    customerProfile,
    consent,
    details,
    team: team ?? [],
    inviteContext: inviteContext ?? null,
    ...extras,
    links: referralLinks(id, engagementId, baseUrl),
  };
}

/** The docs misspell `engagments` in these links; the sandbox emits working URLs rather than copying the typo. */
export function referralLinks(id: string, engagementId: string, baseUrl: string) {
  return {
    relatedReferrals: {
      uri: `${baseUrl}${REFERRALS_PATH}?$filter=engagementId eq '${engagementId}'`,
      method: 'GET',
    },
    self: { uri: `${baseUrl}${REFERRALS_PATH}/${id}`, method: 'GET' },
  };
}
