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

/** Wire forms per stored referral version: the store replaces a referral on every change, never mutates it. */
const wireCache = new WeakMap<Referral, { baseUrl: string; wire: Readonly<Record<string, unknown>> }>();

/**
 * `referralToWire`, converted once per referral version and base URL. A listing evaluates its filter against every
 * visible referral's wire form; converting them all on every page made listing cost grow with the store (a backfill
 * of thousands of referrals spent most of its time there). The result is shared: callers copy, never mutate it.
 */
export function cachedReferralToWire(referral: Referral, baseUrl: string): Readonly<Record<string, unknown>> {
  const cached = wireCache.get(referral);
  if (cached && cached.baseUrl === baseUrl) return cached.wire;
  const wire = referralToWire(referral, baseUrl);
  wireCache.set(referral, { baseUrl, wire });
  return wire;
}
