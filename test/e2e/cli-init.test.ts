import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { runCli } from '../support/cli.ts';
import { makeTempDir } from '../support/tmp.ts';

/** `cosell init` run with flags (no terminal), as a script or CI would, against the sandboxes. */
describe('cosell init', () => {
  const tmp = makeTempDir();
  const file = join(tmp.path, 'cosell.yaml');
  let pc: PartnerCenterSandbox;
  let dv: DataverseSandbox;
  let sf: SalesforceSandbox;
  const cli = (args: string[]) => runCli(args, { cwd: tmp.path });

  beforeAll(async () => {
    pc = await startPartnerCenterSandbox({ port: 0 });
    dv = await startDataverseSandbox({ port: 0 });
    sf = await startSalesforceSandbox({ port: 0 });
    // Where `cosell sandbox` run from this folder would write it.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(tmp.path, 'data/sandbox'), { recursive: true });
    writeFileSync(join(tmp.path, 'data/sandbox/partner-center-root.pem'), pc.rootCertificatePem);
  });

  afterAll(async () => {
    await pc?.close();
    await dv?.close();
    await sf?.close();
    tmp.cleanup();
  });

  const initArgs = () => ['init', '--sandbox', '--crm', 'both', '--partner-center-url', pc.url, '--dynamics-url', dv.url, '--salesforce-url', sf.url, '--port', '4999'];

  it('without a terminal, names the flag it needs instead of asking', async () => {
    const result = await cli(['init', '--sandbox']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--crm .* is required/);
  });

  it('writes a commented configuration, connects, and says setup comes next; then mapping check passes after setup', async () => {
    const result = await cli(initArgs());
    expect(result.code, result.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# cosell-sync configuration/);
    expect(text).toContain(`orgUrl: "${dv.url}"`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(result.stdout).toMatch(/✔ Partner Center: connected/);
    expect(result.stdout).toMatch(/dynamics: connected; the custom columns do not exist yet/);
    expect(result.stdout).toContain('cosell setup dynamics --no-webhook');
    expect(result.stdout).toContain('cosell start');

    for (const args of [['setup', 'dynamics', '--no-webhook'], ['setup', 'salesforce'], ['mapping', 'check']]) {
      const step = await cli(args);
      expect(step.code, `${args.join(' ')}: ${step.stderr}`).toBe(0);
    }
    const check = await cli(['mapping', 'check']);
    expect(check.stdout).toMatch(/✔ dynamics: .* is valid/);
    expect(check.stdout).toMatch(/✔ salesforce: .* is valid/);
  }, 90_000);

  it('refuses to overwrite the file without --force, and changes nothing', async () => {
    const before = readFileSync(file, 'utf8');
    const result = await cli([...initArgs(), '--crm', 'dynamics']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/exists; --force/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    const forced = await cli([...initArgs(), '--crm', 'dynamics', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/✔ dynamics: connected/);
    expect(readFileSync(file, 'utf8')).not.toContain('salesforce:');
  }, 60_000);

  it('writes a production configuration from flags, with secrets as environment references only', async () => {
    const result = await cli([
      'init', '--crm', 'salesforce', '--file', 'prod.yaml', '--no-check',
      '--public-url', 'https://cosell.example.com', '--tenant-id', 'tenant-1', '--partner-center-client-id', 'pc-app',
      '--salesforce-url', 'https://contoso.my.salesforce.com', '--salesforce-client-id', 'sf-key',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const text = readFileSync(join(tmp.path, 'prod.yaml'), 'utf8');
    expect(text).toContain('mode: entra');
    expect(text).toContain('clientSecret: env:COSELL_SALESFORCE_CLIENT_SECRET');
    expect(text).not.toContain('dynamics:');
    expect(result.stdout).toContain('export COSELL_PC_CLIENT_SECRET=');
    expect(result.stdout).toContain('COSELL_ADMIN_TOKEN=');
    expect(text).toContain('token: env:COSELL_ADMIN_TOKEN');
    expect(result.stdout).toContain('cosell setup salesforce -c prod.yaml');
  }, 60_000);

  it('rejects a URL that is not one, and writes nothing', async () => {
    const result = await cli(['init', '--sandbox', '--crm', 'dynamics', '--dynamics-url', 'not a url', '--file', 'bad.yaml', '--no-check']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--dynamics-url/);
    expect(existsSync(join(tmp.path, 'bad.yaml'))).toBe(false);
  }, 60_000);

  it('reports an unreachable CRM with exit code 1', async () => {
    const closed = await startDataverseSandbox({ port: 0 });
    const url = closed.url;
    await closed.close();
    const result = await cli(['init', '--sandbox', '--crm', 'dynamics', '--partner-center-url', pc.url, '--dynamics-url', url, '--file', 'other.yaml']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✘ dynamics:/);
  }, 60_000);
});
