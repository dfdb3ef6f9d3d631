import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/config/errors.ts';
import { makeTempDir } from '../../support/tmp.ts';
import { sqliteStoreConfig } from '../../../src/config/schema.ts';

describe('config loading', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  const write = (name: string, text: string) => {
    const file = join(tmp.path, name);
    writeFileSync(file, text);
    return file;
  };

  it('fills production defaults and resolves paths relative to the file', async () => {
    const file = write(
      'ok.yaml',
      [
        'store:',
        '  path: db/cosell.db',
        'partnerCenter:',
        '  auth: { mode: entra, tenantId: t, clientId: c, clientSecret: { env: S }, refreshToken: { file: /run/r } }',
        'dynamics:',
        '  orgUrl: https://contoso.crm.dynamics.com',
        '  tenantId: t',
        '  clientId: c',
        '  clientSecret: file:secrets/dynamics',
        '  webhook: { secret: { file: ../shared/webhook.secret } }',
      ].join('\n'),
    );
    const { config, sandbox } = await loadConfig(file, {});
    expect(sandbox).toBe(false);
    expect(sqliteStoreConfig(config.store, 'this test').path).toBe(join(tmp.path, 'db/cosell.db'));
    // Secret files too are found next to the config file, wherever the service is started from.
    expect(config.partnerCenter.auth).toMatchObject({ clientSecret: { env: 'S' }, refreshToken: { file: '/run/r' } });
    expect(config.dynamics?.clientSecret).toEqual({ file: join(tmp.path, 'secrets/dynamics') });
    expect(config.dynamics?.webhook?.secret).toEqual({ file: join(tmp.path, '../shared/webhook.secret') });
    expect(config.partnerCenter.referralsApiUrl).toBe('https://api.partner.microsoft.com');
    expect(config.partnerCenter.webhooks.certificateHosts).toContain('3psostorageacct.blob.core.windows.net');
    expect(config.partnerCenter.webhooks.insecureHttpHosts).toEqual([]);
  });

  it('runs in sandbox mode with no file', async () => {
    const { config, sandbox, source } = await loadConfig(undefined, {});
    expect(sandbox).toBe(true);
    expect(source).toBe('(sandbox mode)');
    expect(config.partnerCenter.referralsApiUrl).toBe('http://127.0.0.1:4101');
  });

  it('applies COSELL__ environment overrides', async () => {
    const file = write('env.yaml', 'server:\n  port: 5000\npartnerCenter:\n  referralsApiUrl: http://127.0.0.1:4101\n  webhooksApiUrl: http://127.0.0.1:4101\n');
    const { config } = await loadConfig(file, { COSELL__server__port: '6000', COSELL__log__level: 'debug' });
    expect(config.server.port).toBe(6000);
    expect(config.log.level).toBe('debug');
  });

  it('unsets a setting whose COSELL__ variable is empty (the image SQLite path under a PostgreSQL store)', async () => {
    const file = write(
      'pg.yaml',
      'store:\n  driver: postgres\n  url: env:DATABASE_URL\npartnerCenter:\n  referralsApiUrl: http://127.0.0.1:4101\n  webhooksApiUrl: http://127.0.0.1:4101\n',
    );
    const refused = await loadConfig(file, { COSELL__store__path: '/data/cosell.db' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    const loaded = await loadConfig(file, { COSELL__store__path: '', COSELL__alerts__email__host: '' });
    expect(loaded.config.store).toMatchObject({ driver: 'postgres' });
    expect(loaded.config.alerts.email).toBeUndefined();
  });

  it('names the file, path and reason of an invalid setting', async () => {
    const file = write('bad.yaml', 'server:\n  port: "many"\n');
    const error = await loadConfig(file, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).file).toBe(file);
    expect((error as ConfigError).path).toBe('server.port');
    expect((error as ConfigError).message).toMatch(/number/);
  });

  it('has outbound timeouts by default and refuses a zero one, naming it', async () => {
    const { config } = await loadConfig(undefined, {});
    expect(config.outbound).toEqual({ connectTimeoutMs: 10_000, headersTimeoutMs: 30_000, bodyTimeoutMs: 30_000 });
    const local = 'partnerCenter:\n  referralsApiUrl: http://127.0.0.1:1\n  webhooksApiUrl: http://127.0.0.1:1\n';
    const error = await loadConfig(write('outbound-bad.yaml', `${local}outbound:\n  headersTimeoutMs: 0\n`), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('outbound.headersTimeoutMs');
  });

  it('refuses sandbox tokens against Microsoft hosts', async () => {
    const file = write('prod-sandbox.yaml', 'server:\n  port: 4100\n');
    await expect(loadConfig(file, {})).rejects.toThrow(/partnerCenter.auth.mode/);
  });

  it('rejects unknown settings instead of ignoring a typo', async () => {
    const file = write('typo.yaml', 'server:\n  prot: 4100\n');
    await expect(loadConfig(file, {})).rejects.toThrow(/prot/);
  });

  it('reports YAML syntax errors with a position', async () => {
    const file = write('syntax.yaml', 'server: [1, 2\n');
    await expect(loadConfig(file, {})).rejects.toThrow(/line \d+, column \d+/);
  });

  it('reports a missing file clearly', async () => {
    await expect(loadConfig(join(tmp.path, 'nope.yaml'), {})).rejects.toThrow(/cannot read the file \(ENOENT\)/);
  });

  it('refuses YAML aliases that expand past the limit, as invalid configuration', async () => {
    const lines = ['a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]'];
    for (const name of ['b', 'c', 'd', 'e']) lines.push(`${name}: &${name} [${Array.from({ length: 9 }, () => `*${String.fromCharCode(name.charCodeAt(0) - 1)}`).join(', ')}]`);
    const file = write('bomb.yaml', lines.join('\n'));
    const error = await loadConfig(file, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/aliases expand/);
  });

  it('reports an invalid environment override as that variable', async () => {
    const file = write('env-bad.yaml', 'partnerCenter:\n  referralsApiUrl: http://127.0.0.1:4101\n  webhooksApiUrl: http://127.0.0.1:4101\n');
    const error = await loadConfig(file, { COSELL__server__port: 'many' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).file).toBe('environment variable COSELL__server__port');
    expect((error as ConfigError).path).toBe('server.port');
  });

  it('explains a URL without a scheme instead of a bare "Invalid URL"', async () => {
    const file = write('noscheme.yaml', 'partnerCenter:\n  referralsApiUrl: api.partner.microsoft.com\n');
    const error = await loadConfig(file, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('partnerCenter.referralsApiUrl');
    expect((error as ConfigError).message).toMatch(/starting with https:\/\//);
  });
});
