import type { ReferralStatus, ReferralSubstatus } from './referral-enums.ts';

/**
 * The status/substatus table in Partner Center "Referral resources"; `None` is not in the table and pairs only with
 * itself.
 */
export const SUBSTATUSES_BY_STATUS: Record<ReferralStatus, readonly ReferralSubstatus[]> = {
  None: ['None'],
  New: ['Pending', 'Received'],
  Active: ['Accepted'],
  Closed: ['Won', 'Lost', 'Declined', 'Expired'],
};

const ALLOWED_TRANSITIONS: Record<ReferralStatus, readonly ReferralStatus[]> = {
  None: ['None', 'New', 'Active', 'Closed'],
  New: ['New', 'Active', 'Closed'],
  Active: ['Active', 'Closed'],
  Closed: ['Closed'],
};

/** The substatus a status change implies when the caller did not say (only where it is unambiguous). */
export const DEFAULT_SUBSTATUS: Partial<Record<ReferralStatus, ReferralSubstatus>> = {
  None: 'None',
  New: 'Pending',
  Active: 'Accepted',
};

export function substatusProblem(status: ReferralStatus, substatus: ReferralSubstatus): string | undefined {
  const allowed = SUBSTATUSES_BY_STATUS[status];
  if (allowed.includes(substatus)) return undefined;
  return `substatus '${substatus}' is not allowed with status '${status}'; allowed: ${allowed.join(', ')}`;
}

export function transitionProblem(from: ReferralStatus, to: ReferralStatus): string | undefined {
  const allowed = ALLOWED_TRANSITIONS[from];
  if (allowed.includes(to)) return undefined;
  return `status cannot change from '${from}' to '${to}'; allowed from '${from}': ${allowed.join(', ')}`;
}

export interface RuleViolation {
  message: string;
  target: string;
}

export interface WriteRuleInput {
  existing: {
    id: string;
    status: ReferralStatus;
    substatus: ReferralSubstatus;
    direction: string;
    type: string;
    consent: { consentToShareReferralWithMicrosoftSellers?: boolean | null | undefined };
  };
  next: {
    status: ReferralStatus;
    substatus: ReferralSubstatus;
    type: string;
    statusReason?: string | null | undefined;
    consent: { consentToShareReferralWithMicrosoftSellers?: boolean | null | undefined };
  };
  actor: 'partner' | 'microsoft' | 'system';
  /** Whether anything but status, substatus, statusReason and externalReferenceId changes. */
  otherFieldsChanged: boolean;
  /** Whether edits of other fields before acceptance are refused (the sandbox's strictCoSell). */
  strict: boolean;
}

/**
 * Rules on changing a referral beyond the status table, from Partner Center's co-sell docs ("Manage co-sell
 * opportunities", the referrals FAQ and the co-sell connector overview):
 * - Won, Lost, Declined and Expired are terminal: the referral is read-only afterwards, whoever writes;
 * - an incoming referral the partner has not accepted can only be accepted or declined by the partner (or marked
 *   New/Received, a documented transition); in strict mode its other fields cannot be edited before it is accepted
 *   (as in the Partner Center UI), except the CRM ID (`externalReferenceId`), which Microsoft's connectors write back
 *   to new deals ("check New deal in Partner Center to see if it gets populated with CRM ID");
 * - declining needs a reason (`statusReason`);
 * - once visible to Microsoft sellers, a deal cannot be made private again (nor a co-sell deal made independent).
 */
export function writeRuleViolation({ existing, next, actor, otherFieldsChanged, strict }: WriteRuleInput): RuleViolation | undefined {
  if (existing.status === 'Closed') {
    return { message: `Referral '${existing.id}' is closed (${existing.substatus}) and can no longer be updated.`, target: 'status' };
  }
  const declining = next.substatus === 'Declined';
  const acknowledging = next.status === 'New' && !(strict && otherFieldsChanged);
  if (actor === 'partner' && existing.direction === 'Incoming' && existing.status === 'New' && next.status !== 'Active' && !declining && !acknowledging) {
    return {
      message: `Referral '${existing.id}' has not been accepted yet: it can only be accepted (status 'Active') or declined (status 'Closed', substatus 'Declined', with a statusReason).`,
      target: 'status',
    };
  }
  if (declining && (next.statusReason ?? '').trim() === '') {
    return { message: 'A statusReason is required to decline a referral.', target: 'statusReason' };
  }
  if (existing.consent.consentToShareReferralWithMicrosoftSellers === true && next.consent.consentToShareReferralWithMicrosoftSellers === false) {
    return { message: 'Visibility to Microsoft sellers cannot be revoked once a referral is shared with them.', target: 'consent.consentToShareReferralWithMicrosoftSellers' };
  }
  if (existing.type === 'Shared' && next.type !== 'Shared') {
    return { message: "A shared (co-sell) referral cannot be changed back to 'Independent': visibility to Microsoft sellers cannot be revoked.", target: 'type' };
  }
  return undefined;
}
