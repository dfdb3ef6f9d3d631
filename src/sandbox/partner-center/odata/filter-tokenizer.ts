import { ODataQueryError } from './odata-error.ts';

export type Token =
  | { kind: 'identifier'; value: string; position: number }
  | { kind: 'string'; value: string; position: number }
  | { kind: 'number'; value: number; position: number }
  | { kind: 'datetime'; value: string; position: number }
  | { kind: 'lparen' | 'rparen' | 'comma' | 'colon' | 'slash' | 'eof'; position: number };

/**
 * The ` hh:mm` offset alternative exists because clients often leave `+` unencoded in the query string, where form
 * decoding turns it into a space; `2024-01-01T00:00:00 01:00` can only have meant `+01:00`.
 */
const DATE_TIME = /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}| \d{2}:\d{2}(?![\d:]))?)?/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?/y;
const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_]*/y;
/** OData v3 typed literals (`datetime'2024-01-01T00:00:00Z'`), still sent by older client libraries. */
const TYPED_LITERAL_PREFIXES = new Set(['datetime', 'datetimeoffset', 'guid']);

const PUNCTUATION: Record<string, 'lparen' | 'rparen' | 'comma' | 'colon' | 'slash'> = {
  '(': 'lparen',
  ')': 'rparen',
  ',': 'comma',
  ':': 'colon',
  '/': 'slash',
};

function matchAt(pattern: RegExp, input: string, position: number): string | undefined {
  pattern.lastIndex = position;
  return pattern.exec(input)?.[0];
}

function readString(input: string, start: number): { value: string; end: number } {
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
  throw new ODataQueryError(`Unterminated string literal starting at position ${start} in $filter.`, '$filter');
}

export function tokenize(input: string): Token[] {
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
      const { value, end } = readString(input, i);
      tokens.push({ kind: 'string', value, position: i });
      i = end;
      continue;
    }
    // A date must be tried before a number: 2024-01-01 would otherwise lex as the number 2024.
    const dateTime = matchAt(DATE_TIME, input, i);
    if (dateTime) {
      tokens.push({ kind: 'datetime', value: dateTime.replace(' ', '+'), position: i });
      i += dateTime.length;
      continue;
    }
    const number = matchAt(NUMBER, input, i);
    if (number) {
      tokens.push({ kind: 'number', value: Number(number.replace(/[mMdDfFlL]$/, '')), position: i });
      i += number.length;
      continue;
    }
    const identifier = matchAt(IDENTIFIER, input, i);
    if (identifier) {
      const next = i + identifier.length;
      if (TYPED_LITERAL_PREFIXES.has(identifier.toLowerCase()) && input[next] === "'") {
        const { value, end } = readString(input, next);
        tokens.push(identifier.toLowerCase() === 'guid' ? { kind: 'string', value, position: i } : { kind: 'datetime', value, position: i });
        i = end;
        continue;
      }
      tokens.push({ kind: 'identifier', value: identifier, position: i });
      i = next;
      continue;
    }
    throw new ODataQueryError(`Unexpected character '${char}' at position ${i} in $filter.`, '$filter');
  }
  tokens.push({ kind: 'eof', position: input.length });
  return tokens;
}
