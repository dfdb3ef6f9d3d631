import { lexOData, matchAt, readQuoted, type EofToken, type Lexed, type ODataDialect, type PunctuationToken, type StringToken } from '../../shared/odata-lexer.ts';
import { odataError } from '../errors.ts';

type Punctuation = 'lparen' | 'rparen' | 'comma' | 'slash' | 'lbracket' | 'rbracket' | 'equals';

type Literal =
  | { kind: 'identifier'; value: string; position: number }
  | { kind: 'enum'; type: string; value: string; position: number }
  | { kind: 'integer' | 'decimal'; value: number; position: number }
  | { kind: 'guid' | 'datetime' | 'date'; value: string; position: number };

export type Token = Literal | StringToken | PunctuationToken<Punctuation> | EofToken;

const GUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9a-zA-Z_-])/y;
const DATE_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/y;
const DATE = /\d{4}-\d{2}-\d{2}(?![\d:T])/y;
const NUMBER = /-?\d+(\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?/y;
/** Dots belong to identifiers so qualified names (`Microsoft.Dynamics.CRM.In`) arrive as one token. */
const IDENTIFIER = /[A-Za-z_$@][A-Za-z0-9_.]*/y;

const PUNCTUATION: Record<string, Punctuation> = {
  '(': 'lparen',
  ')': 'rparen',
  ',': 'comma',
  '/': 'slash',
  '[': 'lbracket',
  ']': 'rbracket',
  '=': 'equals',
};

/** GUIDs and dates are tried before numbers: `2026-01-01` and `00000000-…` would otherwise lex as numbers. */
function literal(input: string, i: number, unterminated: (start: number) => Error): Lexed<Literal> | undefined {
  const guid = matchAt(GUID, input, i)?.[0];
  if (guid) return { token: { kind: 'guid', value: guid.toLowerCase(), position: i }, end: i + guid.length };
  const dateTime = matchAt(DATE_TIME, input, i)?.[0];
  if (dateTime) return { token: { kind: 'datetime', value: dateTime, position: i }, end: i + dateTime.length };
  const date = matchAt(DATE, input, i)?.[0];
  if (date) return { token: { kind: 'date', value: date, position: i }, end: i + date.length };
  const number = matchAt(NUMBER, input, i);
  if (number) {
    const text = number[0].replace(/[mMdDfFlL]$/, '');
    const isDecimal = number[1] !== undefined || /[eE]/.test(text) || /[mMdDfF]$/.test(number[0]);
    return { token: { kind: isDecimal ? 'decimal' : 'integer', value: Number(text), position: i }, end: i + number[0].length };
  }
  const name = matchAt(IDENTIFIER, input, i)?.[0];
  if (!name) return undefined;
  const next = i + name.length;
  if (input[next] !== "'") return { token: { kind: 'identifier', value: name, position: i }, end: next };
  // A qualified name directly followed by a quote is a typed literal: an enum member
  // (`Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'`) or an OData v3 `guid'…'` / `datetime'…'`.
  const read = readQuoted(input, next);
  if (!read) throw unterminated(next);
  const lower = name.toLowerCase();
  const token: Literal =
    lower === 'guid'
      ? { kind: 'guid', value: read.value.toLowerCase(), position: i }
      : lower === 'datetime' || lower === 'datetimeoffset'
        ? { kind: 'datetime', value: read.value, position: i }
        : { kind: 'enum', type: name, value: read.value, position: i };
  return { token, end: read.end };
}

export function tokenize(input: string, option = '$filter'): Token[] {
  const unterminated = (start: number): Error => odataError(`Syntax error: unterminated string literal at position ${start} in '${input}' (${option}).`);
  const dialect: ODataDialect<Literal, Punctuation> = {
    punctuation: PUNCTUATION,
    literal: (text, position) => literal(text, position, unterminated),
    unterminated,
    unexpected: (char, position) => odataError(`Syntax error at position ${position} in '${input}' (${option}): unexpected character '${char}'.`),
  };
  return lexOData(input, dialect);
}
