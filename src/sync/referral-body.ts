import type { CustomerProfile } from '../crm/connector.ts';
import type { FieldChange } from '../partner-center/json-patch.ts';
import type { ReferralCreate } from '../partner-center/model.ts';

/** Applies field changes (dotted or segment paths) to a plain object, creating parents as needed. */
export function applyFieldChanges(target: Record<string, unknown>, changes: readonly FieldChange[]): Record<string, unknown> {
  for (const change of changes) {
    const segments = typeof change.path === 'string' ? change.path.replace(/^\//, '').split(/[./]/) : [...change.path];
    let node: Record<string, unknown> = target;
    for (const segment of segments.slice(0, -1)) {
      const next = node[segment];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[segment] = {};
      node = node[segment] as Record<string, unknown>;
    }
    const last = segments[segments.length - 1];
    if (last !== undefined && last !== '-') node[last] = change.value;
  }
  return target;
}

export interface ReferralDraftInput {
  crmId: string;
  changes: readonly FieldChange[];
  customer: CustomerProfile;
  /** "How can Microsoft help?" — any value makes it a co-sell (Shared) referral. */
  assistanceRequested: boolean;
  /** "Referral visibility": visible to Microsoft sellers. */
  visibleToMicrosoft: boolean;
  /**
   * The Microsoft Solutions the seller chose on the deal (Partner Center solution ids); null when the CRM has no
   * Microsoft Solutions catalogue (`cosell setup` has not created it).
   */
  solutionIds: readonly string[] | null;
}

/** The field a seller fixes when a co-sell deal names no solution; Audit lines and tests name it the same way. */
export const SOLUTIONS_FIELD = 'Microsoft Solutions';

/**
 * Co-sell needs a solution: "Solution ID is required" is the documented error of Microsoft's co-sell connectors
 * ("Co-sell connector for Dynamics 365 CRM overview", troubleshooting), and "Create a referral" names the partner's
 * solution on a shared referral.
 */
export function solutionProblem(solutionIds: readonly string[] | null): DraftProblem | undefined {
  if (solutionIds === null) {
    return { field: SOLUTIONS_FIELD, reason: 'the CRM has no Microsoft Solutions catalogue: run "cosell setup" and "cosell solutions import", then add at least one Microsoft solution to the deal' };
  }
  return solutionIds.length === 0 ? { field: SOLUTIONS_FIELD, reason: 'add at least one Microsoft solution to the deal (co-sell with Microsoft requires one)' } : undefined;
}

/**
 * A co-sell deal's solutions as "Create a referral" shows them: each as `{ type: Name, id }` in
 * `details.requirements.solutions` (keeping any the mapping already put there), and the first as the referral's
 * SolutionProfile target.
 */
export function withSolutions(details: Record<string, unknown>, solutionIds: readonly string[]): { details: Record<string, unknown>; target: Array<{ type: 'SolutionProfile'; id: string }> } {
  const requirements = (details.requirements ?? {}) as Record<string, unknown>;
  const mapped = Array.isArray(requirements.solutions) ? (requirements.solutions as Array<{ id?: unknown }>) : [];
  const known = new Set(mapped.map((s) => String(s.id).toLowerCase()));
  const added = solutionIds.filter((id) => !known.has(id.toLowerCase())).map((id) => ({ type: 'Name', id }));
  const first = solutionIds[0] as string;
  return { details: { ...details, requirements: { ...requirements, solutions: [...mapped, ...added] } }, target: [{ type: 'SolutionProfile', id: first }] };
}

export type DraftProblem = { field: string; reason: string };

/** The field a seller fixes when the account's country cannot be sent; Audit lines and tests name it the same way. */
export const COUNTRY_FIELD = 'customer.country';

/**
 * Partner Center takes the customer's country as ISO 3166 alpha-2 only. A value the mapping's country setting could not
 * turn into one (an unknown name, a country row whose code is not one) is named with that setting, so the Audit says
 * both what the account holds and where the mapping read it.
 */
export function countryProblemOf(customer: CustomerProfile): DraftProblem | undefined {
  const found = customer.countryProblem;
  if (found) {
    return { field: COUNTRY_FIELD, reason: `${found.value} read from ${found.setting} is not an ISO 3166 country; give the account a country ISO 3166 knows (for a country table, a row whose code is one, such as US)` };
  }
  if (!customer.country || !/^[A-Z]{2}$/.test(customer.country)) return { field: COUNTRY_FIELD, reason: 'the customer country must be an ISO 3166 two-letter code (e.g. US)' };
  return undefined;
}

/**
 * Builds the create body for a referral that starts in the CRM, with the rules of Microsoft's connector: any help
 * requested makes it co-sell (Shared, visible, needs a customer contact); otherwise it is partner-led (visible) or
 * private. Returns the problems instead of a body when Partner Center would reject it, so nothing invalid is sent.
 */
export function draftReferral(input: ReferralDraftInput): { body: ReferralCreate } | { problems: DraftProblem[] } {
  const draft = applyFieldChanges({}, input.changes);
  const problems: DraftProblem[] = [];
  const customer = input.customer;
  const contacts = customer.contacts.filter((c) => c.email || c.lastName);
  if (!customer.name.trim()) problems.push({ field: 'customer', reason: 'the customer account has no name' });
  const countryProblem = countryProblemOf(customer);
  if (countryProblem) problems.push(countryProblem);
  if (input.assistanceRequested && contacts.length === 0) {
    problems.push({ field: 'customer.contacts', reason: 'a customer contact is required when Microsoft help is requested' });
  }
  if (typeof draft.name !== 'string' || draft.name.trim() === '') problems.push({ field: 'name', reason: 'the deal has no name' });
  const missingSolution = input.assistanceRequested ? solutionProblem(input.solutionIds) : undefined;
  if (missingSolution) problems.push(missingSolution);
  if (problems.length > 0) return { problems };

  const visible = input.assistanceRequested || input.visibleToMicrosoft;
  const mappedDetails = (draft.details ?? {}) as Record<string, unknown>;
  const coSell = input.assistanceRequested ? withSolutions(mappedDetails, input.solutionIds ?? []) : undefined;
  const details = coSell?.details ?? mappedDetails;
  const consent = (draft.consent ?? {}) as Record<string, unknown>;
  const body = {
    ...draft,
    externalReferenceId: input.crmId,
    // Partner-led vs private is carried by the sharing consent; only requested help makes a co-sell (Shared) deal.
    type: input.assistanceRequested ? 'Shared' : 'Independent',
    qualification: draft.qualification ?? 'SalesQualified',
    status: draft.status ?? 'Active',
    substatus: draft.substatus ?? 'Accepted',
    consent: {
      consentToToShareInfoWithOthers: visible,
      consentToContact: true,
      ...consent,
      consentToShareReferralWithMicrosoftSellers: visible,
    },
    customerProfile: {
      name: customer.name,
      address: {
        addressLine1: customer.addressLine1,
        ...(customer.addressLine2 ? { addressLine2: customer.addressLine2 } : {}),
        city: customer.city,
        state: customer.state,
        postalCode: customer.postalCode,
        country: customer.country,
      },
      team: contacts.map((c) => ({ firstName: c.firstName, lastName: c.lastName, email: c.email, phoneNumber: c.phone })),
    },
    details,
    ...(coSell ? { target: coSell.target } : {}),
  } as ReferralCreate;
  return { body };
}
