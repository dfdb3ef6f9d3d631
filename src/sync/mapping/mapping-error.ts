import { ConfigError } from '../../config/errors.ts';

/** One problem in a mapping file: which file, where in it (`entities.opportunity.fields[3].crm`) and why. */
export interface MappingIssue {
  file: string;
  path: string;
  reason: string;
}

/** Where a check reports one issue at a path of the mapping file; the caller adds the file. */
export type Report = (path: string, reason: string) => void;

/**
 * An invalid mapping file. It is a ConfigError so the CLI treats it like any invalid configuration (exit code 2);
 * `issues` keeps every problem found, the message names the first.
 */
export class MappingError extends ConfigError {
  readonly issues: readonly MappingIssue[];

  constructor(issues: readonly [MappingIssue, ...MappingIssue[]]) {
    const [first, ...others] = issues;
    const more = others.length === 0 ? '' : ` (and ${others.length} more: ${others.map((i) => `${i.path || '(root)'}: ${i.reason}`).join('; ')})`;
    super(first.file, first.path, `${first.reason}${more}`);
    this.issues = issues;
  }

  static single(file: string, path: string, reason: string): MappingError {
    return new MappingError([{ file, path, reason }]);
  }
}

/** Formats a zod/yaml style path (`['fields', 3, 'crm']`) the way messages show it: `fields[3].crm`. */
export function formatPath(segments: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}
