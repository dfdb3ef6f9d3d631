import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configureOutbound, type HttpTimeouts } from '../http/outbound.ts';
import { ConfigError } from './errors.ts';
import { configSchema, type Config, type PostgresStoreConfig } from './schema.ts';
import { sandboxConfig } from './sandbox-preset.ts';

export const DEFAULT_CONFIG_FILE = 'cosell.yaml';

/**
 * Environment overrides use `COSELL__a__b=value` for the config path `a.b`, so any setting can be changed in a
 * container without a file. Values are parsed as YAML scalars (numbers, booleans, lists in flow style). An empty value
 * unsets the setting: `-e COSELL__store__path=` takes back the image's SQLite path for a store.driver postgres file.
 */
const ENV_PREFIX = 'COSELL__';

export interface LoadedConfig {
  config: Config;
  /** The file the config came from, or `(sandbox mode)`. */
  source: string;
  sandbox: boolean;
  /** Where a setting (dotted path) came from: the `COSELL__…` variable that set it, else `source`. */
  sourceOf(path: string): string;
}

/** A `COSELL__a__b` variable and the config path it sets. */
interface EnvOverride {
  variable: string;
  path: string[];
  value: string;
}

/** Anchors and aliases are legitimate YAML, but a few aliases of aliases expand exponentially (a "billion laughs"). */
const MAX_YAML_ALIASES = 100;

/**
 * `--config` wins; else `cosell.yaml` in the working directory; else sandbox mode, so a fresh clone runs with no file.
 */
export async function loadConfig(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const file = explicit ?? env.COSELL_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const source = file ?? '(sandbox mode)';
  let raw: unknown = sandboxConfig();
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError(file, '', `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    raw = parseYaml(file, text) ?? {};
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(source, '', 'the top level must be a mapping of settings');
  }
  const overrides = envOverrides(env);
  const merged = applyEnvOverrides(raw as Record<string, unknown>, overrides);
  const sourceOf = (path: string): string => {
    const override = overrideFor(overrides, path.split('.'));
    return override ? `environment variable ${override.variable}` : source;
  };
  const config = parseConfig(source, merged, sourceOf);
  // Process-wide, like the proxy variables: every call the command makes from here on runs with these limits.
  configureOutbound({ timeouts: explicitTimeouts(config, merged.outbound) });
  return { config: resolveRelativePaths(config, file), source, sandbox: file === undefined, sourceOf };
}

/**
 * The `outbound` limits the file or the environment set: the others follow the command's mode (the schema's defaults
 * are the service's; commands a person runs have shorter ones, see INTERACTIVE_HTTP_TIMEOUTS).
 */
function explicitTimeouts(config: Config, rawOutbound: unknown): Partial<HttpTimeouts> {
  const set = typeof rawOutbound === 'object' && rawOutbound !== null ? new Set(Object.keys(rawOutbound)) : new Set<string>();
  const { connectTimeoutMs, headersTimeoutMs, bodyTimeoutMs } = config.outbound;
  return {
    ...(set.has('connectTimeoutMs') ? { connectMs: connectTimeoutMs } : {}),
    ...(set.has('headersTimeoutMs') ? { headersMs: headersTimeoutMs } : {}),
    ...(set.has('bodyTimeoutMs') ? { bodyMs: bodyTimeoutMs } : {}),
  };
}

/** `sourceOf` names where a setting came from, so an invalid env override is reported as that variable. */
export function parseConfig(source: string, raw: unknown, sourceOf: (path: string) => string = () => source): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw toConfigError(result.error, sourceOf);
  return result.data;
}

function parseYaml(file: string, text: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const where = first.linePos?.[0];
    throw new ConfigError(file, where ? `line ${where.line}, column ${where.col}` : '', `invalid YAML: ${first.code}`);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    // yaml throws a ReferenceError when aliases expand past maxAliasCount (and for an alias to a missing anchor).
    const detail = error instanceof Error ? error.message : String(error);
    throw new ConfigError(file, '', `invalid YAML: ${/alias count/i.test(detail) ? `aliases expand to more than ${MAX_YAML_ALIASES} nodes (refused as a resource-exhaustion attempt)` : detail}`);
  }
}

function toConfigError(error: z.ZodError, sourceOf: (path: string) => string): ConfigError {
  const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  // An environment override is usually what was just changed: report its issue first, under its variable's name.
  const fromEnv = issues.findIndex((issue) => sourceOf(issue.path).startsWith('environment variable '));
  if (fromEnv > 0) issues.unshift(...issues.splice(fromEnv, 1));
  const first = issues[0] ?? { path: '', message: 'invalid configuration' };
  const others = issues.slice(1).map((i) => `${i.path || '(root)'}: ${i.message}`);
  const reason = others.length === 0 ? first.message : `${first.message} (also: ${others.join('; ')})`;
  return new ConfigError(sourceOf(first.path), first.path, reason);
}

function envOverrides(env: NodeJS.ProcessEnv): EnvOverride[] {
  return Object.keys(env)
    .filter((key) => key.startsWith(ENV_PREFIX) && env[key] !== undefined)
    .map((variable) => ({ variable, path: variable.slice(ENV_PREFIX.length).split('__').filter(Boolean), value: env[variable] ?? '' }))
    .filter((override) => override.path.length > 0);
}

/** The override that set this path or one of its parents (`COSELL__server` covers `server.port`). */
function overrideFor(overrides: EnvOverride[], path: string[]): EnvOverride | undefined {
  return overrides.find((override) => override.path.length <= path.length && override.path.every((segment, i) => segment === path[i]));
}

function applyEnvOverrides(raw: Record<string, unknown>, overrides: EnvOverride[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const { variable, path, value } of overrides) {
    let node: Record<string, unknown> = out;
    if (value === '') {
      // Unset: remove the key where it exists, create nothing on the way there.
      const parent = path.slice(0, -1).reduce<unknown>((at, segment) => (typeof at === 'object' && at !== null && !Array.isArray(at) ? (at as Record<string, unknown>)[segment] : undefined), out);
      if (typeof parent === 'object' && parent !== null && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[path[path.length - 1] as string];
      continue;
    }
    for (const segment of path.slice(0, -1)) {
      const next = node[segment];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[segment] = {};
      node = node[segment] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = parseYaml(`environment variable ${variable}`, value);
  }
  return out;
}

/** Paths in a config file are relative to the file, not to wherever the service happens to be started. */
function resolveRelativePaths(config: Config, file: string | undefined): Config {
  if (file === undefined) return config;
  const base = dirname(resolve(file));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const webhooks = config.partnerCenter.webhooks;
  const withSecretFiles = resolveSecretFiles(config, abs) as Config;
  return {
    ...withSecretFiles,
    store:
      config.store.driver === 'sqlite'
        ? { ...config.store, path: config.store.path === ':memory:' ? ':memory:' : abs(config.store.path) }
        : { ...config.store, url: (withSecretFiles.store as PostgresStoreConfig).url, ssl: { ...config.store.ssl, ...(config.store.ssl.ca !== undefined ? { ca: abs(config.store.ssl.ca) } : {}) } },
    mappings: {
      ...(config.mappings.dynamics ? { dynamics: abs(config.mappings.dynamics) } : {}),
      ...(config.mappings.salesforce ? { salesforce: abs(config.mappings.salesforce) } : {}),
    },
    partnerCenter: {
      ...withSecretFiles.partnerCenter,
      webhooks: {
        ...webhooks,
        trustAnchors: webhooks.trustAnchors.map((a) => (a === 'system' ? a : abs(a))),
        intermediates: webhooks.intermediates.map(abs),
      },
    },
  };
}

/**
 * Secret references `{ file: … }` sit in several sections (Partner Center, Dynamics, Salesforce); after parsing they
 * are the only objects whose one key is `file`, so a walk finds them all without listing their places.
 */
function resolveSecretFiles(value: unknown, abs: (p: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveSecretFiles(item, abs));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]?.[0] === 'file' && typeof entries[0][1] === 'string') return { file: abs(entries[0][1]) };
  return Object.fromEntries(entries.map(([key, item]) => [key, resolveSecretFiles(item, abs)]));
}
