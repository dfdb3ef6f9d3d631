import type { Config } from '../config/schema.ts';
import type { CredentialRecords } from '../http/refresh-token-vault.ts';
import type { Logger } from '../util/logger.ts';
import { LocalLeadership, type Leadership } from './leadership.ts';
import { postgresPoolOptions } from './postgres/from-config.ts';
import { PostgresStore } from './postgres/index.ts';
import { PostgresLeadership } from './postgres/leadership.ts';
import type { PostgresPoolOptions } from './postgres/pool.ts';
import { SqliteStore } from './sqlite/index.ts';
import type { StoreCompaction } from './sqlite/retention.ts';
import type { Store } from './types.ts';

export type { StoreCompaction };

/** The store as the service uses it: the contract every driver meets, plus retention and the credentials' writes. */
export interface ServiceStore extends Store {
  readonly compactor: StoreCompaction;
  readonly credentials: CredentialRecords;
}

/**
 * Where the store is, as it may be shown (logs, /readyz, the console): the SQLite file, or the PostgreSQL server and
 * database, never the URL (it carries the password).
 */
export type StoreLocation = { driver: 'sqlite'; path: string } | { driver: 'postgres'; host: string; database: string };

export interface OpenedStore {
  store: ServiceStore;
  /** LocalLeadership for SQLite (one process, always leads); an advisory lock on its own connection for PostgreSQL. */
  leadership: Leadership;
  location: StoreLocation;
}

/** `store.location` in words: the path, or host[:port]/database. */
export function describeStoreLocation(location: StoreLocation): string {
  return location.driver === 'sqlite' ? location.path : `${location.host}/${location.database}`;
}

/** Host (with its port when given) and database of a PostgreSQL URL; a Unix socket shows as its directory. */
export function postgresLocation(url: string): StoreLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { driver: 'postgres', host: '(unparseable URL)', database: '' };
  }
  const socket = parsed.searchParams.get('host');
  const host = parsed.host !== '' ? parsed.host : (socket ?? 'localhost');
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres';
  return { driver: 'postgres', host, database };
}

/**
 * Opens the configured store (migrating it) and the leadership that goes with it. Nothing is started: the caller
 * starts the leadership when it is ready to do singleton work, and stops it before closing the store.
 * A PostgreSQL URL that does not resolve or parse is a ConfigError naming store.url (exit 2).
 */
export async function openStore(config: Config, logger: Logger, options: { env?: NodeJS.ProcessEnv; applicationName?: string } = {}): Promise<OpenedStore> {
  const settings = config.store;
  if (settings.driver === 'sqlite') {
    const store = SqliteStore.open({ path: settings.path, synchronous: settings.synchronous });
    const leadership = new LocalLeadership((error) => logger.error({ err: error }, 'leadership listener failed'));
    return { store, leadership, location: { driver: 'sqlite', path: settings.path } };
  }
  const applicationName = options.applicationName ?? 'cosell-sync';
  const poolOptions = await postgresPoolOptions(settings, options.env, applicationName);
  const storeLogger = logger.child({ component: 'store' });
  const store = await PostgresStore.open({
    ...poolOptions,
    log: (level, message) => (level === 'error' ? storeLogger.error(message) : storeLogger.warn(message)),
  });
  const leadership = new PostgresLeadership({
    connection: leadershipConnection(poolOptions),
    log: logger.child({ component: 'leadership' }),
    applicationName: `${applicationName} leadership`,
  });
  return { store, leadership, location: postgresLocation(poolOptions.url) };
}

/** The leadership's own connection: the store's server, TLS and credentials, outside its pool. */
function leadershipConnection(options: PostgresPoolOptions): { connectionString: string; ssl?: { rejectUnauthorized: boolean; ca?: string } } {
  const ssl = options.ssl;
  return {
    connectionString: options.url,
    ...(ssl ? { ssl: { rejectUnauthorized: ssl.rejectUnauthorized, ...(ssl.ca !== undefined ? { ca: ssl.ca } : {}) } } : {}),
  };
}

/**
 * The store for a command that only looks while the service runs: SQLite read-only (null when there is no file yet),
 * PostgreSQL through a small pool. PostgresStore.open brings the schema up to date first; that is a no-op when the
 * service runs the same version, and its migrations are additive when it runs an older one.
 */
export async function openStoreToRead(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<Store | null> {
  const settings = config.store;
  if (settings.driver === 'sqlite') return SqliteStore.openReadOnly(settings.path);
  return PostgresStore.fromConfig({ ...settings, pool: { ...settings.pool, max: 2 } }, { env, applicationName: 'cosell-cli' });
}
