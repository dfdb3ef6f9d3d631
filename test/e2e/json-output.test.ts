import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { runCli } from '../support/cli.ts';
import { makeTempDir } from '../support/tmp.ts';

/* A one-shot command's stdout is its result alone: with --json, one JSON document; its log lines go to stderr. */
describe('--json output', () => {
  const tmp = makeTempDir();
  let pc: PartnerCenterSandbox;
  let dv: DataverseSandbox;
  let configFile: string;

  beforeAll(async () => {
    pc = await startPartnerCenterSandbox({ port: 0 });
    dv = await startDataverseSandbox({ port: 0 });
    const secret = join(tmp.path, 'secret');
    writeFileSync(secret, 'json-output-secret');
    configFile = join(tmp.path, 'cosell.yaml');
    writeFileSync(
      configFile,
      stringify({
        server: { host: '127.0.0.1', port: 4999, publicUrl: 'http://127.0.0.1:4999' },
        store: { path: join(tmp.path, 'cosell.db') },
        // The most verbose level: every log line the command writes must still stay out of stdout.
        log: { level: 'debug' },
        partnerCenter: { referralsApiUrl: pc.url, webhooksApiUrl: pc.url },
        dynamics: { orgUrl: dv.url, mode: 'sandbox', webhook: { secret: { file: secret } } },
      }),
    );
  });

  afterAll(async () => {
    await pc?.close();
    await dv?.close();
    tmp.cleanup();
  });

  it('cosell setup dynamics --json prints one JSON document on stdout and its logs on stderr', async () => {
    const result = await runCli(['setup', 'dynamics', '--config', configFile, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { created: string[] };
    expect(report.created.length).toBeGreaterThan(5);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('{"level":')).length).toBeGreaterThan(0);
  }, 60_000);
});
