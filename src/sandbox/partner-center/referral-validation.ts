import type { FieldProblem } from '../shared/zod-issues.ts';
import { parseWithProblems, summarizeProblems } from '../shared/zod-issues.ts';
import { isPlainObject } from '../shared/deep-merge.ts';
import { invalidRequest, type PartnerCenterError } from './errors.ts';
import { REFERRAL_STATUSES, REFERRAL_SUBSTATUSES, type ReferralStatus, type ReferralSubstatus } from './referral-enums.ts';
import { referralContentSchema, type ReferralContent } from './referral-schema.ts';
import { substatusProblem } from './status-rules.ts';

function matchEnum<T extends string>(values: readonly T[], raw: unknown): T | undefined {
  return typeof raw === 'string' ? values.find((value) => value.toLowerCase() === raw.toLowerCase()) : undefined;
}

/** Checked on the raw body so a wrong status/substatus pair is reported together with every other problem. */
function statusPairProblems(body: Record<string, unknown>): FieldProblem[] {
  const status = matchEnum<ReferralStatus>(REFERRAL_STATUSES, body.status);
  const substatus = matchEnum<ReferralSubstatus>(REFERRAL_SUBSTATUSES, body.substatus);
  if (status === undefined || substatus === undefined) return [];
  const problem = substatusProblem(status, substatus);
  return problem ? [{ target: 'substatus', message: problem }] : [];
}

export function rejectWithProblems(what: string, problems: readonly FieldProblem[]): PartnerCenterError {
  return invalidRequest(`${what} is invalid: ${summarizeProblems(problems)}`, problems[0]?.target, problems);
}

/** Validates a client-written referral and returns it normalized (enum casing, upper-case codes, numeric dealValue). */
export function validateReferralContent(body: unknown, what = 'The referral'): ReferralContent {
  if (!isPlainObject(body)) throw invalidRequest(`${what} must be a JSON object.`);
  const parsed = parseWithProblems(referralContentSchema, body);
  const problems = [...(parsed.ok ? [] : parsed.problems), ...statusPairProblems(body)];
  if (problems.length > 0 || !parsed.ok) throw rejectWithProblems(what, problems);
  return parsed.value;
}
