import type { Referral } from './model.ts';

/**
 * An incoming referral not responded to within 14 days is archived as Closed/Expired and its sender is told (Partner
 * Center referrals API, "Get a list of referrals"). Partner Center states the instant as `expirationDateTime`; for a
 * referral without one, the 14 days are counted from its creation.
 */
export const RESPONSE_WINDOW_MS = 14 * 24 * 3600_000;

/** When the partner must have accepted or declined this referral; null when no answer is awaited from the partner. */
export function respondBy(referral: Pick<Referral, 'direction' | 'status' | 'expirationDateTime' | 'createdDateTime'>): string | null {
  if (referral.direction !== 'Incoming' || referral.status !== 'New') return null;
  if (referral.expirationDateTime) return referral.expirationDateTime;
  const created = referral.createdDateTime ? Date.parse(referral.createdDateTime) : Number.NaN;
  return Number.isNaN(created) ? null : new Date(created + RESPONSE_WINDOW_MS).toISOString();
}
