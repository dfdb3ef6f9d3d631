import type { FieldProblem } from '../shared/zod-issues.ts';
import { parseWithProblems, summarizeProblems } from '../shared/zod-issues.ts';
import { isPlainObject } from '../shared/deep-merge.ts';
import { invalidRequest, type PartnerCenterError } from './errors.ts';
import { REFERRAL_STATUSES, REFERRAL_SUBSTATUSES, type ReferralStatus, type ReferralSubstatus } from './referral-enums.ts';
import { READ_ONLY_FIELDS } from './referral-model.ts';
import { NEWER_FIELD_KEYS, referralContentSchema, type ReferralContent } from './referral-schema.ts';
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

/** Keys that would reach an object's prototype; never stored, whatever the client sends. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Folds the newer fields' other spellings into one key, and drops prototype-reaching keys at any depth. */
function normalizeKeys(value: unknown, depth = 0): unknown {
  if (Array.isArray(value)) return value.map((item) => normalizeKeys(item, depth + 1));
  if (!isPlainObject(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (UNSAFE_KEYS.has(key)) continue;
    // Server fields and OData annotations in a body (a PUT sends the whole resource back) are not content.
    if (depth === 0 && (READ_ONLY_FIELDS.has(key) || key.startsWith('@odata.'))) continue;
    const canonical = depth === 0 ? (NEWER_FIELD_KEYS.get(key.toLowerCase()) ?? key) : key;
    result[canonical] = normalizeKeys(item, depth + 1);
  }
  return result;
}

/** Validates a client-written referral and returns it normalized (enum casing, upper-case codes, numeric dealValue). */
export function validateReferralContent(body: unknown, what = 'The referral'): ReferralContent {
  if (!isPlainObject(body)) throw invalidRequest(`${what} must be a JSON object.`);
  const normalized = normalizeKeys(body) as Record<string, unknown>;
  const parsed = parseWithProblems(referralContentSchema, normalized);
  const problems = [...(parsed.ok ? [] : parsed.problems), ...statusPairProblems(normalized)];
  if (problems.length > 0 || !parsed.ok) throw rejectWithProblems(what, problems);
  return parsed.value;
}
