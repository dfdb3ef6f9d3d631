import { readPemFile } from '../partner-center/certificate-source.ts';
import { ConfigError } from '../config/errors.ts';
import type { LoadedConfig } from '../config/load.ts';
import { resolveSecret, type SecretRef } from '../config/secrets.ts';

/**
 * What `cosell start` checks before it connects anywhere: every secret reference resolves, every certificate file is
 * readable PEM. Without it, a missing secret file surfaces later as whatever fails first (a Dataverse connection
 * error) with exit code 1; here it is invalid configuration (exit 2) naming the setting and where it came from.
 * Commands that need none of these (status, dead-letters) do not run it.
 */
export async function checkConfigResources(loaded: LoadedConfig, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  for (const { path, ref } of secretReferences(loaded.config)) {
    try {
      await resolveSecret(ref, { env, setting: path });
    } catch (error) {
      throw relabel(error, loaded, path);
    }
  }
  const webhooks = loaded.config.partnerCenter.webhooks;
  const certificateFiles = [
    ...webhooks.trustAnchors.map((file, i) => ({ file, setting: `partnerCenter.webhooks.trustAnchors.${i}`, what: 'trust anchor' })),
    ...webhooks.intermediates.map((file, i) => ({ file, setting: `partnerCenter.webhooks.intermediates.${i}`, what: 'intermediate certificate' })),
  ];
  for (const { file, setting, what } of certificateFiles) {
    if (file === 'system') continue;
    try {
      readPemFile(file, setting, what);
    } catch (error) {
      throw relabel(error, loaded, setting);
    }
  }
}

function relabel(error: unknown, loaded: LoadedConfig, path: string): unknown {
  return error instanceof ConfigError ? new ConfigError(loaded.sourceOf(path), path, error.reason) : error;
}

/** After parsing, secret references are the only objects whose one key is `env` or `file` (see secrets.ts). */
function secretReferences(value: unknown, path: string[] = []): Array<{ path: string; ref: SecretRef }> {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => secretReferences(item, [...path, String(i)]));
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only && (only[0] === 'env' || only[0] === 'file') && typeof only[1] === 'string') {
    return [{ path: path.join('.'), ref: value as SecretRef }];
  }
  return entries.flatMap(([key, item]) => secretReferences(item, [...path, key]));
}
