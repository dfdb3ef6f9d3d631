import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { defaultMappingPath } from '../../src/crm/vendors.ts';
import { runCli } from '../support/cli.ts';
import { makeTempDir } from '../support/tmp.ts';

/** The operator's commands for Dynamics, run as a user runs them: the real binary against the sandboxes. */
describe('cosell setup dynamics and cosell mapping', () => {
  const tmp = makeTempDir();
  let pc: PartnerCenterSandbox;
  let dv: DataverseSandbox;
  let configFile: string;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    pc = await startPartnerCenterSandbox({ port: 0 });
    dv = await startDataverseSandbox({ port: 0 });
    const secret = join(tmp.path, 'secret');
    writeFileSync(secret, 'cli-test-secret');
    const anchor = join(tmp.path, 'root.pem');
    writeFileSync(anchor, pc.rootCertificatePem);
    config = {
      server: { host: '127.0.0.1', port: 4999, publicUrl: 'http://127.0.0.1:4999' },
      store: { path: join(tmp.path, 'cosell.db') },
      log: { level: 'warn' },
      partnerCenter: {
        referralsApiUrl: pc.url,
        webhooksApiUrl: pc.url,
        webhooks: { certificateHosts: [new URL(pc.url).host], insecureHttpHosts: [new URL(pc.url).host], trustAnchors: [anchor] },
      },
      dynamics: { orgUrl: dv.url, mode: 'sandbox', webhook: { secret: { file: secret } } },
    };
    configFile = join(tmp.path, 'cosell.yaml');
    writeFileSync(configFile, stringify(config));
  });

  afterAll(async () => {
    await pc?.close();
    await dv?.close();
    tmp.cleanup();
  });

  it('mapping check fails with exit code 2 before setup (the custom columns do not exist yet)', async () => {
    const result = await runCli(['mapping', 'check', '--config', configFile]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid mapping/);
    expect(result.stderr).toMatch(/cosell_referralidentifier/);
  }, 30_000);

  it('setup creates the columns, key and webhook once; a second run finds everything and creates nothing', async () => {
    const first = await runCli(['setup', 'dynamics', '--config', configFile, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as { created: string[]; found: string[] };
    expect(report.created.length).toBeGreaterThan(5);
    expect(report.created.some((c) => c.includes('referralidentifier'))).toBe(true);
    const second = await runCli(['setup', 'dynamics', '--config', configFile, '--json']);
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout) as { created: string[]; found: string[] };
    expect(again.created).toEqual([]);
    expect(again.found.length).toBeGreaterThanOrEqual(report.created.length);
  }, 60_000);

  it('mapping check passes after setup', async () => {
    const result = await runCli(['mapping', 'check', '--config', configFile]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/✔ dynamics: .*dynamics\.yaml is valid/);
  }, 30_000);

  it('a broken mapping stops start-up with exit code 2, naming the file, the path and the reason', async () => {
    const broken = join(tmp.path, 'broken.yaml');
    writeFileSync(broken, readFileSync(defaultMappingPath('dynamics'), 'utf8').replace('crm: estimatedvalue', 'crm: estimatedvalu'));
    const brokenConfig = join(tmp.path, 'broken-config.yaml');
    writeFileSync(brokenConfig, stringify({ ...config, mappings: { dynamics: broken } }));
    const result = await runCli(['start', '--config', brokenConfig]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(broken);
    expect(result.stderr).toMatch(/entities\.opportunity\.fields\[\d+\]/);
    expect(result.stderr).toMatch(/estimatedvalu/);
  }, 30_000);

  it('mapping preview shows both sides of a referral and writes nothing', async () => {
    const created = (await (
      await fetch(`${pc.url}/_sandbox/referrals/incoming`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Preview deal', details: { dealValue: 4200 } }),
      })
    ).json()) as { id: string };
    await fetch(`${dv.url}/_sandbox/requests`, { method: 'DELETE' });
    await fetch(`${pc.url}/_sandbox/requests`, { method: 'DELETE' });
    const result = await runCli(['mapping', 'preview', '--referral', created.id, '--config', configFile, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const preview = JSON.parse(result.stdout) as { linked: boolean; fields: Array<{ key: string; partnerCenter: unknown }> };
    expect(preview.linked).toBe(false);
    expect(preview.fields.find((f) => f.key === 'dealValue')?.partnerCenter).toBe(4200);
    const writes = async (url: string) => {
      const counts = (await (await fetch(`${url}/_sandbox/requests`)).json()) as { routes: Record<string, number> };
      return Object.entries(counts.routes).filter(([r]) => /^(POST|PATCH|PUT|DELETE) /.test(r)).length;
    };
    expect(await writes(pc.url)).toBe(0);
    expect(await writes(dv.url)).toBe(0);
  }, 30_000);
});
