import { odataError } from '../errors.ts';

export type Token =
  | { kind: 'identifier'; value: string; position: number }
  | { kind: 'string'; value: string; position: number }
  | { kind: 'enum'; type: string; value: string; position: number }
  | { kind: 'integer' | 'decimal'; value: number; position: number }
  | { kind: 'guid' | 'datetime' | 'date'; value: string; position: number }
  | { kind: 'lparen' | 'rparen' | 'comma' | 'slash' | 'lbracket' | 'rbracket' | 'equals' | 'eof'; position: number };

const GUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9a-zA-Z_-])/y;
const DATE_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/y;
const DATE = /\d{4}-\d{2}-\d{2}(?![\d:T])/y;
const NUMBER = /-?\d+(\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?/y;
/** Dots belong to identifiers so qualified names (`Microsoft.Dynamics.CRM.In`) arrive as one token. */
const IDENTIFIER = /[A-Za-z_$@][A-Za-z0-9_.]*/y;

const PUNCTUATION: Record<string, 'lparen' | 'rparen' | 'comma' | 'slash' | 'lbracket' | 'rbracket' | 'equals'> = {
  '(': 'lparen',
  ')': 'rparen',
  ',': 'comma',
  '/': 'slash',
  '[': 'lbracket',
  ']': 'rbracket',
  '=': 'equals',
};

function matchAt(pattern: RegExp, input: string, position: number): RegExpExecArray | null {
  pattern.lastIndex = position;
  return pattern.exec(input);
}

function readString(input: string, start: number, option: string): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < input.length) {
    const char = input[i];
    if (char === "'") {
      if (input[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    value += char;
    i += 1;
  }
  throw odataError(`Syntax error: unterminated string literal at position ${start} in '${input}' (${option}).`);
}

export function tokenize(input: string, option = '$filter'): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const char = input[i] ?? '';
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    const punctuation = PUNCTUATION[char];
    if (punctuation) {
      tokens.push({ kind: punctuation, position: i });
      i += 1;
      continue;
    }
    if (char === "'") {
      const { value, end } = readString(input, i, option);
      tokens.push({ kind: 'string', value, position: i });
      i = end;
      continue;
    }
    // GUIDs and dates must be tried before numbers: `2026-01-01` and `00000000-…` would otherwise lex as numbers.
    const guid = matchAt(GUID, input, i);
    if (guid) {
      tokens.push({ kind: 'guid', value: guid[0].toLowerCase(), position: i });
      i += guid[0].length;
      continue;
    }
    const dateTime = matchAt(DATE_TIME, input, i);
    if (dateTime) {
      tokens.push({ kind: 'datetime', value: dateTime[0], position: i });
      i += dateTime[0].length;
      continue;
    }
    const date = matchAt(DATE, input, i);
    if (date) {
      tokens.push({ kind: 'date', value: date[0], position: i });
      i += date[0].length;
      continue;
    }
    const number = matchAt(NUMBER, input, i);
    if (number) {
      const text = number[0].replace(/[mMdDfFlL]$/, '');
      const isDecimal = number[1] !== undefined || /[eE]/.test(text) || /[mMdDfF]$/.test(number[0]);
      tokens.push({ kind: isDecimal ? 'decimal' : 'integer', value: Number(text), position: i });
      i += number[0].length;
      continue;
    }
    const identifier = matchAt(IDENTIFIER, input, i);
    if (identifier) {
      const name = identifier[0];
      const next = i + name.length;
      // A qualified name directly followed by a quote is a typed literal: an enum member
      // (`Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'`) or an OData v3 `guid'…'` / `datetime'…'`.
      if (input[next] === "'") {
        const { value, end } = readString(input, next, option);
        const lower = name.toLowerCase();
        if (lower === 'guid') tokens.push({ kind: 'guid', value: value.toLowerCase(), position: i });
        else if (lower === 'datetime' || lower === 'datetimeoffset') tokens.push({ kind: 'datetime', value, position: i });
        else tokens.push({ kind: 'enum', type: name, value, position: i });
        i = end;
        continue;
      }
      tokens.push({ kind: 'identifier', value: name, position: i });
      i = next;
      continue;
    }
    throw odataError(`Syntax error at position ${i} in '${input}' (${option}): unexpected character '${char}'.`);
  }
  tokens.push({ kind: 'eof', position: input.length });
  return tokens;
}
