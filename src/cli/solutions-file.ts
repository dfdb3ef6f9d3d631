import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { CsvError, parse } from 'csv-parse/sync';
import { z } from 'zod';
import { solutionKey, type MicrosoftSolution } from '../crm/solutions.ts';

/*
 * The partner's solutions list for `cosell solutions import`: a CSV or Excel (.xlsx) sheet with a header row, one
 * solution per row. Microsoft's connector pre-loads its catalogue from Excel ("Co-sell connector for Dynamics 365 CRM
 * overview"); the layout of that workbook is not published, so headers are matched loosely: "Solution ID" (or "Id"),
 * "Name" (or "Solution name"), and optionally "Co-sell ready" (yes/no, true/false, 1/0; empty = no).
 *
 * Everything is checked before anything is written: the result is either every solution or every problem, each naming
 * its line (CSV) or row (Excel).
 */

/** Bounds the work a file can cause: a partner has tens of solutions, not hundreds of thousands. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_SOLUTIONS = 10_000;
/** Salesforce Name fields hold 80 characters (the tighter of the two CRMs; the Dynamics column holds 200). */
export const MAX_NAME_LENGTH = 80;
export const MAX_SOLUTION_ID_LENGTH = 100;

export interface SolutionsFileProblem {
  /** `line 7` (CSV, physical line) or `row 7` (spreadsheet row); absent for problems with the whole file. */
  where?: string;
  message: string;
}

export type SolutionsFileResult = { ok: true; solutions: MicrosoftSolution[] } | { ok: false; problems: SolutionsFileProblem[] };

interface RawRow {
  where: string;
  cells: Array<string | null>;
}

const HEADER_ALIASES: Record<'solutionId' | 'name' | 'coSellReady', readonly string[]> = {
  solutionId: ['solutionid', 'id', 'solution'],
  name: ['name', 'solutionname'],
  coSellReady: ['cosellready', 'cosell', 'isco-sellready', 'iscosellready', 'cosellreadystatus'],
};

function headerKey(text: string): string {
  return text.trim().toLowerCase().replace(/[\s_\-?]/g, '');
}

const TRUE_WORDS = new Set(['yes', 'y', 'true', '1', 'x', 'ready', 'co-sell ready']);
const FALSE_WORDS = new Set(['no', 'n', 'false', '0', '', 'not ready']);

// Printable text only: a control character in an id or name is a broken export, not data.
const hasControlCharacter = (text: string): boolean => [...text].some((char) => (char.codePointAt(0) ?? 0) < 0x20 || char === '\u007f');
const printable = (field: string) =>
  z
    .string()
    .trim()
    .refine((text) => !hasControlCharacter(text), `${field} contains control characters`);
const rowSchema = z.object({
  solutionId: printable('Solution ID').min(1, 'Solution ID is empty').max(MAX_SOLUTION_ID_LENGTH, `Solution ID is longer than ${MAX_SOLUTION_ID_LENGTH} characters`),
  name: printable('Name').min(1, 'Name is empty').max(MAX_NAME_LENGTH, `Name is longer than ${MAX_NAME_LENGTH} characters`),
  coSellReady: z
    .string()
    .trim()
    .transform((text, ctx) => {
      const word = text.toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      ctx.addIssue({ code: 'custom', message: `Co-sell ready is "${text}"; use yes or no` });
      return z.NEVER;
    }),
});

function cellText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

const csvRecordsSchema = z.array(z.object({ record: z.array(z.string()), info: z.looseObject({ lines: z.number() }) }));

async function csvRows(bytes: Buffer): Promise<RawRow[]> {
  // `info.lines` is the physical line a record ends on, which is what a user finds in an editor.
  const records = csvRecordsSchema.parse(parse(bytes, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: false }));
  return records.map(({ record, info }) => ({ where: `line ${info.lines}`, cells: record }));
}

async function xlsxRows(bytes: Buffer): Promise<RawRow[]> {
  const { readSheet } = await import('read-excel-file/node');
  const data = await readSheet(bytes);
  return data
    .map((row, index) => ({ where: `row ${index + 1}`, cells: row.map(cellText) }))
    .filter((row) => row.cells.some((cell) => cell !== null && cell.trim() !== ''));
}

/** Reads and checks a solutions file; never throws for bad content (only for an unreadable path). */
export async function readSolutionsFile(path: string): Promise<SolutionsFileResult> {
  const extension = extname(path).toLowerCase();
  if (extension !== '.csv' && extension !== '.xlsx') {
    return { ok: false, problems: [{ message: `${path}: expected a .csv or .xlsx file (an old .xls workbook must be saved as .xlsx first)` }] };
  }
  const size = (await stat(path)).size;
  if (size > MAX_FILE_BYTES) return { ok: false, problems: [{ message: `${path} is ${size} bytes; the limit is ${MAX_FILE_BYTES}` }] };
  const bytes = await readFile(path);
  let rows: RawRow[];
  try {
    rows = extension === '.csv' ? await csvRows(bytes) : await xlsxRows(bytes);
  } catch (error) {
    const where = error instanceof CsvError && typeof (error as CsvError & { lines?: unknown }).lines === 'number' ? `line ${String((error as CsvError & { lines: number }).lines)}` : undefined;
    return { ok: false, problems: [{ ...(where ? { where } : {}), message: `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}` }] };
  }
  return validateRows(rows);
}

export function validateRows(rows: readonly RawRow[]): SolutionsFileResult {
  const [header, ...body] = rows;
  if (!header) return { ok: false, problems: [{ message: 'the file is empty: expected a header row (Solution ID, Name, Co-sell ready) and one row per solution' }] };
  const keys = header.cells.map((cell) => headerKey(cell ?? ''));
  const column = (field: keyof typeof HEADER_ALIASES) => keys.findIndex((key) => HEADER_ALIASES[field].includes(key));
  const columns = { solutionId: column('solutionId'), name: column('name'), coSellReady: column('coSellReady') };
  const missing = (['solutionId', 'name'] as const).filter((field) => columns[field] === -1);
  if (missing.length > 0) {
    return {
      ok: false,
      problems: [{ where: header.where, message: `the header row lacks ${missing.map((field) => (field === 'solutionId' ? '"Solution ID"' : '"Name"')).join(' and ')} (found: ${header.cells.map((cell) => JSON.stringify(cell ?? '')).join(', ')})` }],
    };
  }
  if (body.length === 0) return { ok: false, problems: [{ message: 'the file has a header row but no solutions' }] };
  if (body.length > MAX_SOLUTIONS) return { ok: false, problems: [{ message: `the file lists ${body.length} solutions; the limit is ${MAX_SOLUTIONS}` }] };
  const problems: SolutionsFileProblem[] = [];
  const solutions: MicrosoftSolution[] = [];
  const seen = new Map<string, string>();
  for (const row of body) {
    const at = (index: number) => (index === -1 ? '' : (row.cells[index] ?? ''));
    const parsed = rowSchema.safeParse({ solutionId: at(columns.solutionId), name: at(columns.name), coSellReady: at(columns.coSellReady) });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push({ where: row.where, message: issue.message });
      continue;
    }
    const key = solutionKey(parsed.data.solutionId);
    const first = seen.get(key);
    if (first) {
      problems.push({ where: row.where, message: `Solution ID ${parsed.data.solutionId} is already on ${first}` });
      continue;
    }
    seen.set(key, row.where);
    solutions.push(parsed.data);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, solutions };
}
