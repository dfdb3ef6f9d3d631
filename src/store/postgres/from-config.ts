import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../config/errors.ts';
import type { PostgresStoreConfig } from '../../config/schema.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { PostgresPoolOptions } from './pool.ts';

export type SslMode = 'disable' | 'require' | 'verify-full';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * `disable` where no network is crossed (localhost, a loopback address, a Unix socket: host empty or a path), else
 * `verify-full`: a remote server must prove who it is before it sees the password and the deal data.
 */
export function defaultSslMode(url: URL): SslMode {
  const host = url.hostname || (url.searchParams.get('host') ?? '');
  return host === '' || host.startsWith('/') || LOCAL_HOSTS.has(host.toLowerCase()) ? 'disable' : 'verify-full';
}

/**
 * The pool options for `store` (driver postgres): the URL resolved from its secret reference, TLS as configured (or
 * the default above). A URL that is not postgres://, an sslmode in the URL beside store.ssl.mode, or an unreadable CA
 * file is invalid configuration naming the setting (exit 2); no message carries the URL.
 */
export async function postgresPoolOptions(store: PostgresStoreConfig, env: NodeJS.ProcessEnv = process.env, applicationName = 'cosell-sync'): Promise<PostgresPoolOptions> {
  const url = await resolveSecret(store.url, { env, setting: 'store.url' });
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('', 'store.url', 'the secret is not a URL (expected postgres://user:password@host:port/database)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError('', 'store.url', `expected a postgres:// URL, not ${parsed.protocol}//`);
  }
  // node-postgres lets the URL's sslmode override the ssl option given beside it: two places saying it would disagree silently.
  if (parsed.searchParams.has('sslmode') || parsed.searchParams.has('sslrootcert')) {
    throw new ConfigError('', 'store.url', 'set TLS with store.ssl (mode, ca), not with sslmode or sslrootcert in the URL');
  }
  const mode = store.ssl.mode ?? defaultSslMode(parsed);
  let ca: string | undefined;
  if (store.ssl.ca !== undefined) {
    try {
      ca = await readFile(store.ssl.ca, 'utf8');
    } catch (error) {
      throw new ConfigError('', 'store.ssl.ca', `cannot read ${store.ssl.ca} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return {
    url,
    pool: { max: store.pool.max },
    ssl: mode === 'disable' ? undefined : { rejectUnauthorized: mode === 'verify-full', ca: mode === 'verify-full' ? ca : undefined },
    applicationName,
  };
}
