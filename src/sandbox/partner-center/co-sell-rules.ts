import type { FieldProblem } from '../shared/zod-issues.ts';
import { MICROSOFT_ORGANIZATION } from './referral-enums.ts';
import type { ReferralContent } from './referral-schema.ts';
import type { SolutionsCatalogue } from './solutions-catalogue.ts';

/*
 * What Partner Center requires of a co-sell (Shared) referral a partner creates. Sources: "Create a referral" (the
 * two-call recipe for a shared referral: the partner's referral targets its SolutionProfile, then a connected referral
 * for Microsoft in the same engagement targets BusinessProfileLocation `msft`), and Microsoft's co-sell connector
 * troubleshooting ("Solution ID is required"; a customer contact is required when Microsoft's help is requested; at
 * least one co-sell ready solution before sharing).
 */

export const SOLUTION_REQUIRED = 'Solution ID is required';

type Target = NonNullable<ReferralContent['target']>[number];
type Solution = NonNullable<NonNullable<NonNullable<ReferralContent['details']['requirements']>['solutions']>[number]>;

function isMicrosoftLocation(target: Target): boolean {
  return target.type === 'BusinessProfileLocation' && target.id.trim().toLowerCase() === MICROSOFT_ORGANIZATION.id;
}

/** The second call of the recipe: a referral whose target is Microsoft's business profile location. */
export function targetsMicrosoft(content: ReferralContent): boolean {
  return (content.target ?? []).some(isMicrosoftLocation);
}

/**
 * A solution entry names one of the partner's solutions when its type is `Name`. An entry without a type is read as
 * `Name` too when it is not a `Category` (the tolerant reading: the type is optional in the docs' tables); `Category`
 * and `None` entries are Microsoft's predefined names and are not looked up.
 */
function namesPartnerSolution(solution: Solution): boolean {
  return solution.type === 'Name' || solution.type === undefined || solution.type === null;
}

function solutionsOf(content: ReferralContent): Solution[] {
  return content.details.requirements?.solutions ?? [];
}

/** Every solution id the body names must be the partner's own. */
function unknownSolutionProblems(content: ReferralContent, catalogue: SolutionsCatalogue): FieldProblem[] {
  const problems: FieldProblem[] = [];
  solutionsOf(content).forEach((solution, index) => {
    if (namesPartnerSolution(solution) && !catalogue.find(solution.id)) {
      problems.push({ target: `details.requirements.solutions[${index}].id`, message: `solution '${solution.id}' is not one of this partner's solutions` });
    }
  });
  (content.target ?? []).forEach((target, index) => {
    if (target.type === 'SolutionProfile' && !catalogue.find(target.id)) {
      problems.push({ target: `target[${index}].id`, message: `solution profile '${target.id}' is not one of this partner's solutions` });
    }
  });
  return problems;
}

/** The partner's own co-sell deal (the first call of the recipe, or a private deal upgraded to co-sell). */
export function coSellDealProblems(content: ReferralContent, catalogue: SolutionsCatalogue): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const named = [
    ...solutionsOf(content).filter(namesPartnerSolution).map((s) => s.id),
    ...(content.target ?? []).filter((t) => t.type === 'SolutionProfile').map((t) => t.id),
  ];
  const coSellReady = named.some((id) => catalogue.find(id)?.coSellReady === true);
  if (!coSellReady) {
    problems.push({
      target: 'details.requirements.solutions',
      message: `${SOLUTION_REQUIRED}: a co-sell (Shared) referral needs at least one co-sell ready solution of this partner, as { "type": "Name", "id": "<solution id>" } in details.requirements.solutions or a SolutionProfile target`,
    });
  }
  problems.push(...unknownSolutionProblems(content, catalogue));
  (content.target ?? []).forEach((target, index) => {
    if (target.type === 'None') problems.push({ target: `target[${index}].type`, message: "a shared referral's target must be a SolutionProfile or a BusinessProfileLocation, not None" });
  });
  if (content.consent.consentToShareReferralWithMicrosoftSellers === false) {
    problems.push({ target: 'consent.consentToShareReferralWithMicrosoftSellers', message: 'a co-sell referral is shared with Microsoft sellers; it cannot be private' });
  }
  const help = content.inviteContext?.assistanceRequestCode;
  const contacts = (content.customerProfile.team ?? []).filter((member) => member.email || member.lastName);
  if (help && help !== 'Unknown' && contacts.length === 0) {
    problems.push({ target: 'customerProfile.team', message: "a customer contact is required when Microsoft's help is requested" });
  }
  return problems;
}

/** The connected Microsoft referral (second call): exactly Microsoft's location as target, solutions the partner's. */
export function connectedReferralProblems(content: ReferralContent, catalogue: SolutionsCatalogue): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (content.type !== 'Shared') problems.push({ target: 'type', message: "the connected Microsoft referral must be of type 'Shared'" });
  const targets = content.target ?? [];
  if (targets.length !== 1) {
    problems.push({ target: 'target', message: `the connected Microsoft referral targets Microsoft only: [{ "type": "BusinessProfileLocation", "id": "${MICROSOFT_ORGANIZATION.id}" }]` });
  }
  problems.push(...unknownSolutionProblems(content, catalogue));
  return problems;
}
