import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_NAME_LENGTH, readSolutionsFile } from '../../../src/cli/solutions-file.ts';
import { makeTempDir } from '../../support/tmp.ts';
import { xlsxWorkbook } from '../../support/xlsx.ts';

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

const file = (name: string, content: string | Uint8Array): string => {
  const path = join(tmp.path, name);
  writeFileSync(path, content);
  return path;
};

describe('readSolutionsFile', () => {
  it('reads a CSV with a BOM, quoted fields, loose headers and yes/no values', async () => {
    const path = file('ok.csv', '\uFEFFSolution ID,Solution name,Co-sell ready\r\nSOL-1,"Contoso Analytics, Pro",Yes\r\nSOL-2,Contoso Migrate,\r\n\r\nSOL-3,"Contoso ""Edge""",false\r\n');
    expect(await readSolutionsFile(path)).toEqual({
      ok: true,
      solutions: [
        { solutionId: 'SOL-1', name: 'Contoso Analytics, Pro', coSellReady: true },
        { solutionId: 'SOL-2', name: 'Contoso Migrate', coSellReady: false },
        { solutionId: 'SOL-3', name: 'Contoso "Edge"', coSellReady: false },
      ],
    });
  });

  it('reports every bad row with its line number and returns no solutions', async () => {
    const path = file('bad.csv', ['Solution ID,Name,Co-sell ready', 'SOL-1,Good,yes', ',No id,yes', 'SOL-3,,no', 'SOL-4,Fine,maybe', 'sol-1,Duplicate,yes', `SOL-6,${'x'.repeat(MAX_NAME_LENGTH + 1)},no`].join('\n'));
    const result = await readSolutionsFile(path);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { where: 'line 3', message: 'Solution ID is empty' },
      { where: 'line 4', message: 'Name is empty' },
      { where: 'line 5', message: 'Co-sell ready is "maybe"; use yes or no' },
      { where: 'line 6', message: 'Solution ID sol-1 is already on line 2' },
      { where: 'line 7', message: `Name is longer than ${MAX_NAME_LENGTH} characters` },
    ]);
  });

  it('refuses a name spanning lines, naming the line the record ends on', async () => {
    const path = file('multiline.csv', 'Solution ID,Name\nSOL-1,"two\nlines"\n');
    expect(await readSolutionsFile(path)).toEqual({ ok: false, problems: [{ where: 'line 3', message: 'Name contains control characters' }] });
  });

  it('names a missing header, an empty file, an unbalanced quote and an unsupported extension', async () => {
    const header = await readSolutionsFile(file('header.csv', 'Id,Title\nSOL-1,x\n'));
    expect(header).toMatchObject({ ok: false, problems: [{ where: 'line 1', message: expect.stringContaining('"Name"') }] });
    expect(await readSolutionsFile(file('empty.csv', ''))).toMatchObject({ ok: false, problems: [{ message: expect.stringContaining('empty') }] });
    const quote = await readSolutionsFile(file('quote.csv', 'Solution ID,Name\nSOL-1,"open\n'));
    expect(quote).toMatchObject({ ok: false, problems: [{ message: expect.stringContaining('cannot read') }] });
    expect(await readSolutionsFile(file('old.xls', 'x'))).toMatchObject({ ok: false, problems: [{ message: expect.stringContaining('.xlsx') }] });
  });

  it('reads an Excel workbook and reports bad rows by spreadsheet row', async () => {
    const good = file('ok.xlsx', xlsxWorkbook([['Solution ID', 'Name', 'Co-sell ready'], ['SOL-1', 'Contoso Analytics', 'Yes'], [null, null, null], ['SOL-2', 'Contoso Migrate', 0]]));
    expect(await readSolutionsFile(good)).toEqual({
      ok: true,
      solutions: [
        { solutionId: 'SOL-1', name: 'Contoso Analytics', coSellReady: true },
        { solutionId: 'SOL-2', name: 'Contoso Migrate', coSellReady: false },
      ],
    });
    const bad = file('bad.xlsx', xlsxWorkbook([['Solution ID', 'Name'], ['SOL-1', 'A'], ['SOL-1', 'B']]));
    expect(await readSolutionsFile(bad)).toEqual({ ok: false, problems: [{ where: 'row 3', message: 'Solution ID SOL-1 is already on row 2' }] });
    const corrupt = await readSolutionsFile(file('corrupt.xlsx', 'not a zip'));
    expect(corrupt).toMatchObject({ ok: false, problems: [{ message: expect.stringContaining('cannot read') }] });
  });
});
