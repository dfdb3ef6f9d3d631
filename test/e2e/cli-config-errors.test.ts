import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../support/cli.ts';
import { makeTempDir } from '../support/tmp.ts';
import { makeIdentity } from '../support/webhook-signer.ts';

/*
 * Invalid configuration, through the real `cosell` binary: exit code 2 and a message naming the setting (and the
 * file or environment variable it came from) — never a raw errno, a bare "Invalid URL" or exit code 1.
 */

type Yaml = Record<string, unknown>;

describe('cosell start with invalid configuration', () => {
  const tmp = makeTempDir();
  let anchor = '';
  afterAll(() => tmp.cleanup());

  beforeAll(async () => {
    anchor = join(tmp.path, 'anchor.pem');
    writeFileSync(anchor, (await makeIdentity()).ca.certificatePem);
  });

  /** A configuration that would start (no CRM, Partner Center never called), with one thing changed per test. */
  const base = (): Yaml => ({
    server: { host: '127.0.0.1', port: 0 },
    store: { path: join(tmp.path, 'ok', 'cosell.db') },
    log: { level: 'silent' },
    partnerCenter: {
      referralsApiUrl: 'http://127.0.0.1:9',
      webhooksApiUrl: 'http://127.0.0.1:9',
      webhooks: { certificateHosts: ['127.0.0.1:9'], trustAnchors: [anchor] },
    },
  });
  let n = 0;
  const writeConfig = (config: Yaml | string): string => {
    const file = join(tmp.path, `config-${++n}.yaml`);
    writeFileSync(file, typeof config === 'string' ? config : stringify(config));
    return file;
  };
  const start = async (config: Yaml | string, env: NodeJS.ProcessEnv = {}) => {
    const file = writeConfig(config);
    const result = await runCli(['start', '--config', file], { cwd: tmp.path, env });
    return { ...result, file };
  };

  it('refuses a YAML alias bomb', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h'].entries()) {
      const previous = String.fromCharCode('a'.charCodeAt(0) + i);
      levels.push(`${name}: &${name} [${Array.from({ length: 9 }, () => `*${previous}`).join(',')}]`);
    }
    const result = await start(levels.join('\n'));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(result.file);
    expect(result.stderr).toMatch(/aliases/);
  });

  it('names the setting and the variable of an unset secret', async () => {
    const config = base();
    (config.partnerCenter as Yaml).auth = { mode: 'entra', tenantId: 't', clientId: 'c', clientSecret: { env: 'COSELL_TEST_UNSET_SECRET' }, refreshToken: { env: 'COSELL_TEST_UNSET_SECRET' } };
    const result = await start(config, { COSELL_TEST_UNSET_SECRET: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('partnerCenter.auth.clientSecret');
    expect(result.stderr).toContain('COSELL_TEST_UNSET_SECRET');
  });

  it('names partnerCenter.auth.tokenEncryptionKey when the key is not 256 bits, without echoing it', async () => {
    const config = base();
    (config.partnerCenter as Yaml).auth = {
      mode: 'entra',
      tenantId: 't',
      clientId: 'c',
      clientSecret: { env: 'COSELL_TEST_SET_SECRET' },
      refreshToken: { env: 'COSELL_TEST_SET_SECRET' },
      tokenEncryptionKey: { env: 'COSELL_TEST_BAD_KEY' },
    };
    const result = await start(config, { COSELL_TEST_SET_SECRET: 'x-secret-value', COSELL_TEST_BAD_KEY: 'a-key-too-short' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('partnerCenter.auth.tokenEncryptionKey');
    expect(result.stderr).toMatch(/256-bit key/);
    expect(result.stderr).not.toContain('a-key-too-short');
  });

  it('reports a missing webhook secret file as that setting, not as a Dataverse connection error', async () => {
    const config = { ...base(), dynamics: { orgUrl: 'http://127.0.0.1:9', mode: 'sandbox', webhook: { secret: { file: join(tmp.path, 'no-such.secret') } } } };
    const result = await start(config);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('dynamics.webhook.secret');
    expect(result.stderr).toContain('no-such.secret');
    expect(result.stderr).not.toMatch(/dataverse|ECONNREFUSED/i);
  });

  it('reports a missing or non-PEM trust anchor', async () => {
    const missing = base();
    ((missing.partnerCenter as Yaml).webhooks as Yaml).trustAnchors = [join(tmp.path, 'missing.pem')];
    const a = await start(missing);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('partnerCenter.webhooks.trustAnchors.0');
    expect(a.stderr).toContain('missing.pem');

    const notPem = join(tmp.path, 'not.pem');
    writeFileSync(notPem, 'hello');
    const junk = base();
    ((junk.partnerCenter as Yaml).webhooks as Yaml).trustAnchors = [notPem];
    const b = await start(junk);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/partnerCenter\.webhooks\.trustAnchors\.0.*no PEM certificate/);
  });

  it('reports a store path that cannot be created, naming store.path', async () => {
    const blocker = join(tmp.path, 'blocker');
    writeFileSync(blocker, 'a file where a directory should be');
    const result = await start({ ...base(), store: { path: join(blocker, 'data', 'cosell.db') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('store.path');
    expect(result.stderr).toContain(blocker);
  });

  it.each([
    ['dynamics.orgUrl', (c: Yaml) => ({ ...c, dynamics: { orgUrl: 'contoso.crm.dynamics.com', mode: 'sandbox' } })],
    ['partnerCenter.referralsApiUrl', (c: Yaml) => ({ ...c, partnerCenter: { ...(c.partnerCenter as Yaml), referralsApiUrl: 'api.partner.microsoft.com' } })],
  ])('explains a URL without a scheme in %s', async (setting, change) => {
    const result = await start(change(base()));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(setting);
    expect(result.stderr).toMatch(/https:\/\//);
  });

  it('refuses an outbound timeout that is not a positive number of milliseconds', async () => {
    const result = await start({ ...base(), outbound: { connectTimeoutMs: -1 } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('outbound.connectTimeoutMs');
  });

  it('reports an invalid environment override as that variable, not as the file', async () => {
    const result = await start(base(), { COSELL__server__port: 'many' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('environment variable COSELL__server__port');
    expect(result.stderr).toContain('server.port');
  });

  it('names the setting of an unset secret in other commands too (webhooks show)', async () => {
    mkdirSync(join(tmp.path, 'other'), { recursive: true });
    const config = base();
    (config.partnerCenter as Yaml).auth = { mode: 'entra', tenantId: 't', clientId: 'c', clientSecret: { env: 'COSELL_TEST_UNSET_SECRET' }, refreshToken: { env: 'COSELL_TEST_UNSET_SECRET' } };
    const file = writeConfig(config);
    const result = await runCli(['webhooks', 'show', '--config', file], { cwd: tmp.path, env: { COSELL_TEST_UNSET_SECRET: '' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/partnerCenter\.auth\.(clientSecret|refreshToken)/);
  });
});
