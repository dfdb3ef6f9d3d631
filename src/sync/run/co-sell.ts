import type { CrmRecordRef } from '../../crm/connector.ts';
import { isMicrosoftSide, type Referral, type ReferralCreate } from '../../partner-center/model.ts';
import type { ReferralsPort } from '../ports.ts';

/**
 * Sends a referral born in the CRM. A co-sell (Shared) deal is two calls, as "Create a referral" documents for a
 * shared referral: the partner's referral, then Microsoft's connected referral in the same engagement; only the second
 * makes the deal visible to Microsoft sellers. Both calls are keyed by `requestId`, so a retried run gets the same two
 * referrals back. When the second call fails the client throws `MicrosoftConnectionError` (its referral exists); the
 * error is left to the worker's retry, whose run finds the referral by its CRM id and connects Microsoft through
 * `connectMicrosoftIfMissing`.
 */
export async function sendReferral(referrals: Pick<ReferralsPort, 'create' | 'createCoSell'>, body: ReferralCreate, requestId: string): Promise<Referral> {
  if (body.type !== 'Shared') return referrals.create(body, { requestId });
  return (await referrals.createCoSell(body, { requestId })).referral;
}

/**
 * A co-sell referral the partner made from a CRM deal asks for Microsoft's help; another partner's location as target
 * would make it a partner-to-partner engagement, which Microsoft is not connected to.
 */
export function wantsMicrosoftConnected(referral: Referral): boolean {
  const help = referral.inviteContext?.assistanceRequestCode;
  return (
    referral.type === 'Shared' &&
    referral.direction === 'Outgoing' &&
    typeof help === 'string' &&
    help !== '' &&
    help !== 'Unknown' &&
    !(referral.target ?? []).some((target) => target.type === 'BusinessProfileLocation') &&
    !isMicrosoftSide(referral)
  );
}

/**
 * The second call of the co-sell recipe for a referral a crash (or a failed second call) left without Microsoft's
 * referral. `connectMicrosoft` first looks for Microsoft's referral in the engagement, so this is a read when Microsoft
 * is already connected. Returns Microsoft's referral when this call created or found it.
 */
export async function connectMicrosoftIfMissing(referrals: Pick<ReferralsPort, 'connectMicrosoft'>, referral: Referral): Promise<Referral | null> {
  if (!wantsMicrosoftConnected(referral)) return null;
  return referrals.connectMicrosoft(referral);
}

/** The referral was made from this CRM record: it carries the record's id as its "CRM ID". */
export function bornFrom(referral: Referral, ref: CrmRecordRef): boolean {
  return referral.direction === 'Outgoing' && typeof referral.externalReferenceId === 'string' && referral.externalReferenceId.toLowerCase() === ref.id.toLowerCase();
}
