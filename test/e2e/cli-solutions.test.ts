import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { runCli } from '../support/cli.ts';
import { makeTempDir } from '../support/tmp.ts';
import { xlsxWorkbook } from '../support/xlsx.ts';

interface ImportReport {
  imported: boolean;
  crm: string;
  created: string[];
  updated: string[];
  unchanged: string[];
}
interface ListReport {
  crm: string;
  solutions: Array<{ solutionId: string; name: string; coSellReady: boolean }>;
}

/** `cosell solutions import|list` as an operator runs them: the real binary against both CRM sandboxes. */
describe('cosell solutions import and list', () => {
  const tmp = makeTempDir();
  let dv: DataverseSandbox;
  let sf: SalesforceSandbox;
  let configFile: string;
  const file = (name: string, content: string | Uint8Array): string => {
    const path = join(tmp.path, name);
    writeFileSync(path, content);
    return path;
  };

  beforeAll(async () => {
    dv = await startDataverseSandbox({ port: 0 });
    sf = await startSalesforceSandbox({ port: 0 });
    configFile = file(
      'cosell.yaml',
      stringify({
        store: { path: join(tmp.path, 'cosell.db') },
        log: { level: 'warn' },
        // Not called by these commands; a closed local port rather than Microsoft's hosts.
        partnerCenter: { referralsApiUrl: 'http://127.0.0.1:9', webhooksApiUrl: 'http://127.0.0.1:9' },
        dynamics: { orgUrl: dv.url, mode: 'sandbox' },
        salesforce: { instanceUrl: sf.url, mode: 'sandbox', notifications: 'cdc', organizationId: sf.organizationId },
      }),
    );
    for (const crm of ['dynamics', 'salesforce']) {
      const setup = await runCli(crm === 'dynamics' ? ['setup', 'dynamics', '--config', configFile, '--no-webhook', '--json'] : ['setup', 'salesforce', '--config', configFile, '--json']);
      expect(setup.code, setup.stderr).toBe(0);
    }
  }, 90_000);

  afterAll(async () => {
    await dv?.close();
    await sf?.close();
    tmp.cleanup();
  });

  it('asks which CRM when both are configured (exit 2)', async () => {
    const result = await runCli(['solutions', 'list', '--config', configFile]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--crm dynamics\|salesforce/);
  }, 30_000);

  for (const crm of ['dynamics', 'salesforce'] as const) {
    it(`${crm}: a file with bad rows is refused with line numbers and imports nothing`, async () => {
      const bad = file(`bad-${crm}.csv`, 'Solution ID,Name,Co-sell ready\nSOL-1,Contoso Analytics,yes\nSOL-2,,no\nSOL-1,Again,perhaps\n');
      const result = await runCli(['solutions', 'import', bad, '--config', configFile, '--crm', crm]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('nothing imported');
      expect(result.stderr).toContain('line 3: Name is empty');
      expect(result.stderr).toContain('line 4: Co-sell ready is "perhaps"; use yes or no');
      const asJson = await runCli(['solutions', 'import', bad, '--config', configFile, '--crm', crm, '--json']);
      expect(asJson.code).toBe(2);
      expect(JSON.parse(asJson.stdout)).toMatchObject({ imported: false, crm, problems: expect.arrayContaining([{ where: 'line 3', message: 'Name is empty' }]) });
      const list = await runCli(['solutions', 'list', '--config', configFile, '--crm', crm, '--json']);
      expect(list.code, list.stderr).toBe(0);
      expect((JSON.parse(list.stdout) as ListReport).solutions).toEqual([]);
    }, 60_000);

    it(`${crm}: imports a CSV with progress, re-imports an xlsx idempotently, and lists the catalogue as clean JSON`, async () => {
      const rows = Array.from({ length: 30 }, (_, index) => `SOL-${String(index + 1).padStart(3, '0')},Solution ${index + 1},${index % 2 === 0 ? 'yes' : 'no'}`);
      const csv = file(`solutions-${crm}.csv`, ['Solution ID,Name,Co-sell ready', ...rows].join('\n'));
      const first = await runCli(['solutions', 'import', csv, '--config', configFile, '--crm', crm]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('Created   (30)');
      expect(first.stderr).toContain('imported 30/30');

      const workbook = file(
        `solutions-${crm}.xlsx`,
        xlsxWorkbook([['Solution ID', 'Name', 'Co-sell ready'], ['SOL-001', 'Solution 1', 'yes'], ['SOL-002', 'Solution 2 (renamed)', 'no'], ['SOL-031', 'Solution 31', 'yes']]),
      );
      const second = await runCli(['solutions', 'import', workbook, '--config', configFile, '--crm', crm, '--json']);
      expect(second.code, second.stderr).toBe(0);
      expect(JSON.parse(second.stdout) as ImportReport).toEqual({ imported: true, crm, created: ['SOL-031'], updated: ['SOL-002'], unchanged: ['SOL-001'] });
      expect(second.stderr).not.toContain('imported');

      const list = await runCli(['solutions', 'list', '--config', configFile, '--crm', crm, '--json']);
      expect(list.code, list.stderr).toBe(0);
      const catalogue = (JSON.parse(list.stdout) as ListReport).solutions;
      expect(catalogue).toHaveLength(31);
      expect(catalogue[1]).toEqual({ solutionId: 'SOL-002', name: 'Solution 2 (renamed)', coSellReady: false });
      expect(catalogue[30]).toEqual({ solutionId: 'SOL-031', name: 'Solution 31', coSellReady: true });
    }, 60_000);
  }
});
