import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.ts';
import { loadConfig, parseConfig } from '../../../src/config/load.ts';
import { sqliteStoreConfig, type PostgresStoreConfig } from '../../../src/config/schema.ts';
import { SecretResolutionError } from '../../../src/config/secrets.ts';
import { postgresPoolOptions } from '../../../src/store/postgres/from-config.ts';
import { makeTempDir } from '../../support/tmp.ts';

/* `store` is the SQLite file (default) or a PostgreSQL database (issue 15). */

const local = { partnerCenter: { referralsApiUrl: 'http://127.0.0.1:9', webhooksApiUrl: 'http://127.0.0.1:9' } };
const parse = (store: unknown) => parseConfig('test.yaml', { ...local, store });
const configError = (run: () => unknown): ConfigError => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
};
const postgres = (store: Record<string, unknown>): PostgresStoreConfig => {
  const parsed = parse({ driver: 'postgres', url: 'env:COSELL_DB_URL', ...store }).store;
  if (parsed.driver !== 'postgres') throw new Error('expected a postgres store');
  return parsed;
};

describe('store configuration', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());

  it('is the SQLite store when left out or when driver is not given, as before', () => {
    expect(parseConfig('x', local).store).toMatchObject({ driver: 'sqlite', path: 'data/cosell.db', synchronous: 'full' });
    expect(parse({ path: 'db.sqlite', synchronous: 'normal' }).store).toMatchObject({ driver: 'sqlite', path: 'db.sqlite', synchronous: 'normal' });
    expect(parse({ driver: 'sqlite' }).store).toMatchObject({ driver: 'sqlite', retention: { inboxDays: 30 } });
  });

  it('takes a PostgreSQL store: the URL a secret reference, a pool of 10 by default, TLS left to the host', () => {
    expect(postgres({})).toEqual({
      driver: 'postgres',
      url: { env: 'COSELL_DB_URL' },
      pool: { max: 10 },
      ssl: {},
      retention: expect.objectContaining({ inboxDays: 30, auditDays: 365 }),
    });
    expect(postgres({ url: { file: '/run/secrets/db' }, pool: { max: 4 }, ssl: { mode: 'verify-full', ca: '/etc/ca.pem' } })).toMatchObject({
      url: { file: '/run/secrets/db' }, pool: { max: 4 }, ssl: { mode: 'verify-full', ca: '/etc/ca.pem' },
    });
  });

  it('refuses invalid store settings, naming each', () => {
    expect(configError(() => parse({ driver: 'mysql' })).path).toBe('store.driver');
    expect(configError(() => parse({ driver: 'mysql' })).message).toMatch(/sqlite, postgres/);
    // A URL written inline (with its password) is refused: secrets are referenced, never written in the config.
    const inline = configError(() => parse({ driver: 'postgres', url: 'postgres://cosell:pw@db/cosell' }));
    expect(inline.path).toBe('store.url');
    expect(inline.message).not.toContain('pw@');
    expect(configError(() => parse({ driver: 'postgres' })).path).toBe('store.url');
    expect(configError(() => postgres({ pool: { max: 0 } })).path).toBe('store.pool.max');
    expect(configError(() => postgres({ ssl: { mode: 'prefer' } })).path).toBe('store.ssl.mode');
    expect(configError(() => postgres({ ssl: { mode: 'require', ca: '/etc/ca.pem' } })).path).toBe('store.ssl.ca');
    // The SQLite settings do not belong to a PostgreSQL store, and the other way round.
    expect(configError(() => postgres({ path: 'x.db' })).path).toBe('store');
    expect(configError(() => parse({ driver: 'sqlite', url: 'env:X' })).path).toBe('store');
  });

  it('resolves a CA file relative to the config file, and the commands for the SQLite file refuse a PostgreSQL store', async () => {
    const file = join(tmp.path, 'pg.yaml');
    writeFileSync(file, 'store:\n  driver: postgres\n  url: { file: secrets/db-url }\n  ssl: { ca: certs/ca.pem }\npartnerCenter:\n  referralsApiUrl: http://127.0.0.1:9\n  webhooksApiUrl: http://127.0.0.1:9\n');
    const { config } = await loadConfig(file, {});
    expect(config.store).toMatchObject({ driver: 'postgres', url: { file: join(tmp.path, 'secrets/db-url') }, ssl: { ca: join(tmp.path, 'certs/ca.pem') } });
    const refused = configError(() => sqliteStoreConfig(config.store, 'cosell backup'));
    expect(refused.path).toBe('store.driver');
    expect(refused.message).toMatch(/cosell backup works with the SQLite store only/);
  });

  it('connects without TLS to a local server and verifies a remote one unless told otherwise', async () => {
    const env = (url: string) => ({ COSELL_DB_URL: url });
    expect((await postgresPoolOptions(postgres({}), env('postgres://cosell:pw@localhost:5432/cosell'))).ssl).toBeUndefined();
    expect((await postgresPoolOptions(postgres({}), env('postgres://cosell:pw@127.0.0.1/cosell'))).ssl).toBeUndefined();
    expect((await postgresPoolOptions(postgres({}), env('postgres://cosell:pw@db.example.net/cosell'))).ssl).toEqual({ rejectUnauthorized: true, ca: undefined });
    expect((await postgresPoolOptions(postgres({ ssl: { mode: 'require' } }), env('postgres://cosell:pw@db.example.net/cosell'))).ssl).toEqual({ rejectUnauthorized: false, ca: undefined });
    expect((await postgresPoolOptions(postgres({ ssl: { mode: 'disable' } }), env('postgres://cosell:pw@db.example.net/cosell'))).ssl).toBeUndefined();
    const ca = join(tmp.path, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const options = await postgresPoolOptions(postgres({ pool: { max: 3 }, ssl: { ca } }), env('postgres://cosell:pw@localhost/cosell'), 'cosell-test');
    // A CA alone does not change the mode: on localhost the default is still no TLS.
    expect(options).toEqual({ url: 'postgres://cosell:pw@localhost/cosell', pool: { max: 3 }, ssl: undefined, applicationName: 'cosell-test' });
    expect((await postgresPoolOptions(postgres({ ssl: { mode: 'verify-full', ca } }), env('postgres://cosell:pw@localhost/cosell'))).ssl).toEqual({ rejectUnauthorized: true, ca: expect.stringContaining('BEGIN CERTIFICATE') });
  });

  it('refuses a missing secret, a URL that is not postgres://, sslmode in the URL and an unreadable CA, naming the setting and never the password', async () => {
    const store = postgres({});
    const reject = (env: NodeJS.ProcessEnv, s: PostgresStoreConfig = store): Promise<ConfigError> =>
      postgresPoolOptions(s, env).then(
        () => {
          throw new Error('expected a ConfigError');
        },
        (e: unknown) => e as ConfigError,
      );
    const missing = await reject({});
    expect(missing).toBeInstanceOf(SecretResolutionError);
    expect(missing.path).toBe('store.url');
    expect((await reject({ COSELL_DB_URL: 'mysql://u:secretpw@h/db' })).path).toBe('store.url');
    const sslmode = await reject({ COSELL_DB_URL: 'postgres://u:secretpw@h/db?sslmode=require' });
    expect(sslmode.path).toBe('store.url');
    expect(sslmode.message).not.toContain('secretpw');
    const ca = await reject({ COSELL_DB_URL: 'postgres://u:secretpw@h/db' }, postgres({ ssl: { ca: join(tmp.path, 'missing.pem') } }));
    expect(ca.path).toBe('store.ssl.ca');
    expect(ca.message).not.toContain('secretpw');
  });
});
