import type { z } from 'zod';

/** One line per issue, "path: message", for error texts that name exactly what is wrong. */
export function describeIssues(error: z.ZodError, limit = 10): string {
  const lines = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.map(String).join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  if (error.issues.length > limit) lines.push(`… and ${error.issues.length - limit} more`);
  return lines.join('; ');
}
