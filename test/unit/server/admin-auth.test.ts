import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/errors.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { hostAllowed, hostNameOf, isJsonContentType, SessionStore } from '../../../src/server/admin-auth.ts';
import { Readiness } from '../../../src/server/readiness.ts';
import { resolveAdminToken } from '../../../src/service.ts';
import type { Store } from '../../../src/store/types.ts';

const LOCAL_PC = { referralsApiUrl: 'http://127.0.0.1:4101', webhooksApiUrl: 'http://127.0.0.1:4101' };
const configWith = (extra: Record<string, unknown>) => parseConfig('test.yaml', { partnerCenter: LOCAL_PC, ...extra });
const configError = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('admin configuration', () => {
  it('defaults to a token-protected loopback listener on its own port, token from COSELL_ADMIN_TOKEN', () => {
    const { admin, server } = configWith({});
    expect(admin).toMatchObject({ host: '127.0.0.1', port: 4180, auth: 'token', token: { env: 'COSELL_ADMIN_TOKEN' }, trustProxy: false });
    expect(server.trustProxy).toBe(false);
  });

  it('accepts auth: none on loopback only, naming admin.auth otherwise', () => {
    expect(configWith({ admin: { auth: 'none', host: '127.0.0.1' } }).admin.auth).toBe('none');
    expect(configWith({ admin: { auth: 'none', host: '::1' } }).admin.auth).toBe('none');
    const error = configError(() => configWith({ admin: { auth: 'none', host: '0.0.0.0' } }));
    expect(error.path).toBe('admin.auth');
    expect(error.reason).toMatch(/loopback/);
  });

  it('refuses one port for both listeners, naming admin.port', () => {
    expect(configError(() => configWith({ server: { port: 4100 }, admin: { port: 4100 } })).path).toBe('admin.port');
  });

  it('takes trustProxy as addresses / CIDRs or a hop count, never true', () => {
    expect(configWith({ server: { trustProxy: ['10.0.0.0/8', '::1', '192.168.1.7'] } }).server.trustProxy).toEqual(['10.0.0.0/8', '::1', '192.168.1.7']);
    expect(configWith({ server: { trustProxy: 1 } }).server.trustProxy).toBe(1);
    expect(configError(() => configWith({ server: { trustProxy: true } })).path).toBe('server.trustProxy');
    expect(configError(() => configWith({ server: { trustProxy: ['10.0.0.0/33'] } })).path).toMatch(/^server\.trustProxy/);
    expect(configError(() => configWith({ server: { trustProxy: ['proxy.example'] } })).path).toMatch(/^server\.trustProxy/);
  });
});

describe('resolveAdminToken', () => {
  it('reads the reference, and reports a missing or short token as a configuration error naming admin.token', async () => {
    const config = configWith({ admin: { token: { env: 'TEST_ADMIN_TOKEN' } } });
    expect(await resolveAdminToken(config, 'test.yaml', { TEST_ADMIN_TOKEN: 'a'.repeat(32) })).toBe('a'.repeat(32));
    await expect(resolveAdminToken(config, 'test.yaml', {})).rejects.toMatchObject({ name: 'ConfigError', path: 'admin.token' });
    const short = await resolveAdminToken(config, 'test.yaml', { TEST_ADMIN_TOKEN: 'short-secret' }).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(ConfigError);
    expect((short as ConfigError).path).toBe('admin.token');
    expect((short as ConfigError).message).not.toContain('short-secret');
    expect(await resolveAdminToken(configWith({ admin: { auth: 'none' } }), 'test.yaml', {})).toBeUndefined();
  });
});

describe('admin request checks', () => {
  it('accepts IP literals, localhost and configured names as Host, nothing else', () => {
    expect(hostNameOf('[::1]:4180')).toBe('::1');
    expect(hostNameOf('LocalHost:4180')).toBe('localhost');
    expect(hostAllowed('127.0.0.1:4180', [])).toBe(true);
    expect(hostAllowed('[::1]:4180', [])).toBe(true);
    expect(hostAllowed('localhost', [])).toBe(true);
    expect(hostAllowed('admin.internal:443', ['admin.internal'])).toBe(true);
    expect(hostAllowed('rebind.evil.example:4180', ['admin.internal'])).toBe(false);
    expect(hostAllowed('localhost.evil.example', [])).toBe(false);
    expect(hostAllowed(undefined, [])).toBe(false);
  });

  it('knows application/json with parameters from look-alikes', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType('application/json-seq')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });
});

describe('SessionStore', () => {
  it('expires sessions, forgets revoked ones and keeps at most 1,000', () => {
    let now = 0;
    const sessions = new SessionStore(1_000, () => now);
    const first = sessions.create();
    expect(sessions.valid(first)).toBe(true);
    expect(sessions.valid('made-up')).toBe(false);
    now = 1_000;
    expect(sessions.valid(first)).toBe(false);
    const second = sessions.create();
    sessions.revoke(second);
    expect(sessions.valid(second)).toBe(false);
    const kept = sessions.create();
    for (let i = 0; i < 1_000; i++) sessions.create();
    expect(sessions.valid(kept)).toBe(false);
  });
});

describe('Readiness', () => {
  const storeWith = (count: () => number) => ({ inbox: { count } }) as unknown as Store;

  it('is not ready when the store cannot be read, and remembers each API’s last success', async () => {
    const readiness = new Readiness(storeWith(() => 0), ':memory:', { 'partner-center': 'referrals', dynamics: 'dataverse' });
    readiness.recordCall({ api: 'referrals', status: 200 });
    readiness.recordCall({ api: 'dataverse', status: 503 });
    const ok = await readiness.check();
    expect(ok.ready).toBe(true);
    expect(ok.connections['partner-center']?.lastSuccessAt).not.toBeNull();
    expect(ok.connections.dynamics?.lastSuccessAt).toBeNull();

    const broken = new Readiness(
      storeWith(() => {
        throw new Error('SQLITE_IOERR');
      }),
      ':memory:',
      {},
    );
    expect(await broken.check()).toMatchObject({ ready: false, store: 'unavailable' });
    const missing = new Readiness(storeWith(() => 0), '/nonexistent-dir/cosell.db', {});
    expect((await missing.check()).ready).toBe(false);
  });
});
