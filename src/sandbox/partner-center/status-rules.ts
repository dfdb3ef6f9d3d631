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
