import { lexOData, matchAt, readQuoted, type EofToken, type Lexed, type ODataDialect, type PunctuationToken, type StringToken } from '../../shared/odata-lexer.ts';
import { ODataQueryError } from './odata-error.ts';

type Punctuation = 'lparen' | 'rparen' | 'comma' | 'colon' | 'slash';

type Literal =
  | { kind: 'identifier'; value: string; position: number }
  | { kind: 'number'; value: number; position: number }
  | { kind: 'datetime'; value: string; position: number }
  | StringToken;

export type Token = Literal | PunctuationToken<Punctuation> | EofToken;

/**
 * The ` hh:mm` offset alternative exists because clients often leave `+` unencoded in the query string, where form
 * decoding turns it into a space; `2024-01-01T00:00:00 01:00` can only have meant `+01:00`.
 */
const DATE_TIME = /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}| \d{2}:\d{2}(?![\d:]))?)?/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?/y;
const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_]*/y;
/** OData v3 typed literals (`datetime'2024-01-01T00:00:00Z'`), still sent by older client libraries. */
const TYPED_LITERAL_PREFIXES = new Set(['datetime', 'datetimeoffset', 'guid']);

const PUNCTUATION: Record<string, Punctuation> = {
  '(': 'lparen',
  ')': 'rparen',
  ',': 'comma',
  ':': 'colon',
  '/': 'slash',
};

const unterminated = (start: number): Error => new ODataQueryError(`Unterminated string literal starting at position ${start} in $filter.`, '$filter');

/** A date is tried before a number: 2024-01-01 would otherwise lex as the number 2024. */
function literal(input: string, i: number): Lexed<Literal> | undefined {
  const dateTime = matchAt(DATE_TIME, input, i)?.[0];
  if (dateTime) return { token: { kind: 'datetime', value: dateTime.replace(' ', '+'), position: i }, end: i + dateTime.length };
  const number = matchAt(NUMBER, input, i)?.[0];
  if (number) return { token: { kind: 'number', value: Number(number.replace(/[mMdDfFlL]$/, '')), position: i }, end: i + number.length };
  const identifier = matchAt(IDENTIFIER, input, i)?.[0];
  if (!identifier) return undefined;
  const next = i + identifier.length;
  if (!(TYPED_LITERAL_PREFIXES.has(identifier.toLowerCase()) && input[next] === "'")) {
    return { token: { kind: 'identifier', value: identifier, position: i }, end: next };
  }
  const read = readQuoted(input, next);
  if (!read) throw unterminated(next);
  const kind = identifier.toLowerCase() === 'guid' ? 'string' : 'datetime';
  return { token: { kind, value: read.value, position: i }, end: read.end };
}

const DIALECT: ODataDialect<Literal, Punctuation> = {
  punctuation: PUNCTUATION,
  literal,
  unterminated,
  unexpected: (char, position) => new ODataQueryError(`Unexpected character '${char}' at position ${position} in $filter.`, '$filter'),
};

export function tokenize(input: string): Token[] {
  return lexOData(input, DIALECT);
}
