import type { z } from 'zod';

export interface FieldProblem {
  /** Dotted path to the offending field (`customerProfile.address.country`, `team[0].email`); empty for the root. */
  target: string;
  message: string;
}

export type ParseOutcome<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

export function issuePath(path: readonly PropertyKey[]): string {
  let result = '';
  for (const segment of path) {
    if (typeof segment === 'number') result += `[${segment}]`;
    else result += result === '' ? String(segment) : `.${String(segment)}`;
  }
  return result;
}

function describeIssue(issue: z.core.$ZodIssue): FieldProblem {
  const target = issuePath(issue.path);
  // Zod's wording for a missing field ("expected string, received undefined") hides that it is simply required.
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  return { target, message: missing ? 'is required' : issue.message };
}

/** Parses and, on failure, lists every problem with its field path — never only the first one. */
export function parseWithProblems<S extends z.ZodType>(schema: S, data: unknown): ParseOutcome<z.output<S>> {
  // reportInput makes zod keep the offending value on each issue, which is how a missing field is told apart.
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: result.error.issues.map(describeIssue) };
}

export function summarizeProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => (p.target ? `${p.target}: ${p.message}` : p.message)).join('; ');
}
