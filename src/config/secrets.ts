import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

/*
 * Where a secret lives — never the secret itself, so config files can be committed and shown.
 *
 * Two spellings are accepted: the object form `{ env: NAME }` / `{ file: /path }`, and the YAML-friendly shorthand
 * strings `env:NAME` / `file:/path`. Both parse to the object form. A bare string is rejected rather than taken as a
 * literal secret, so a pasted password never silently becomes configuration.
 */

export type SecretRef = { env: string } | { file: string };

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');
const filePath = z.string().min(1, 'expected a file path');

const secretRefObjectSchema = z.union([z.object({ env: envName }).strict(), z.object({ file: filePath }).strict()]);

const ACCEPTED_FORMS = 'expected { env: NAME }, { file: /path }, "env:NAME" or "file:/path" (secrets are referenced, never written inline)';

/**
 * One custom transform rather than a union of the forms: a failed zod union reports only "Invalid input", while a
 * config error must say what is accepted.
 */
export const secretRefSchema = z.unknown().transform((value, ctx): SecretRef => {
  if (typeof value === 'string') {
    if (value.startsWith('env:')) {
      const parsed = envName.safeParse(value.slice(4));
      if (parsed.success) return { env: parsed.data };
    } else if (value.startsWith('file:') && value.length > 5) {
      return { file: value.slice(5) };
    }
  } else {
    const parsed = secretRefObjectSchema.safeParse(value);
    if (parsed.success) return parsed.data;
  }
  ctx.addIssue({ code: 'custom', message: ACCEPTED_FORMS });
  return z.NEVER;
});
export type SecretRefInput = SecretRef | `env:${string}` | `file:${string}`;

/**
 * Names the setting, the variable or file and the reason; never contains the secret's value. A secret that cannot be
 * resolved is invalid configuration: the CLI exits with code 2.
 */
export class SecretResolutionError extends ConfigError {
  override readonly name = 'SecretResolutionError';
  constructor(reason: string, setting = '') {
    super('', setting, reason);
  }
}

export interface ResolveSecretOptions {
  env?: NodeJS.ProcessEnv;
  /** The setting holding the reference (e.g. `dynamics.clientSecret`), named in errors. */
  setting?: string;
}

/** Reads the secret, trimmed (files usually end in a newline). Empty counts as missing. */
export async function resolveSecret(ref: SecretRefInput, options: ResolveSecretOptions = {}): Promise<string> {
  const parsed = secretRefSchema.safeParse(ref);
  if (!parsed.success) {
    throw new SecretResolutionError(`invalid secret reference: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`, options.setting);
  }
  const target = parsed.data;
  if ('env' in target) {
    const value = (options.env ?? process.env)[target.env]?.trim();
    if (!value) throw new SecretResolutionError(`environment variable ${target.env} is not set or empty`, options.setting);
    return value;
  }
  let content: string;
  try {
    content = await readFile(target.file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new SecretResolutionError(`cannot read secret file ${target.file}${typeof code === 'string' ? ` (${code})` : ''}`, options.setting);
  }
  const value = content.trim();
  if (!value) throw new SecretResolutionError(`secret file ${target.file} is empty`, options.setting);
  return value;
}

/** A short, value-free description for logs and error messages. */
export function describeSecretRef(ref: SecretRef): string {
  return 'env' in ref ? `env:${ref.env}` : `file:${ref.file}`;
}
