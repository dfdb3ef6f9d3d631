import { parseDateOnly, parseDateTime } from '../data/wire-dates.ts';
import { malformedQuery } from './query-errors.ts';

export type TokenKind = 'ident' | 'string' | 'number' | 'date' | 'datetime' | 'op' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text of the token (identifiers keep their spelling; keywords compare case-insensitively). */
  text: string;
  /** Offset in the query text, for "ERROR at Row:r:Column:c" messages. */
  position: number;
  /** Decoded string literal (escapes resolved). */
  value?: string;
  /** For string literals: the LIKE pattern as a regular-expression source, honouring `\%` and `\_` escapes. */
  likeSource?: string;
  numberValue?: number;
  /** Epoch ms for datetime literals. */
  instant?: number;
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '"': '"', "'": "'", '\\': '\\' };
const DATE_TIME_LITERAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})/;
const DATE_LITERAL = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?![A-Za-z_])/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPERATORS = ['<=', '>=', '!=', '<>', '=', '<', '>'];

function escapeRegex(char: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(char) ? `\\${char}` : char;
}

function readString(query: string, start: number): { token: Token; end: number } {
  let value = '';
  let likeSource = '';
  let index = start + 1;
  while (index < query.length) {
    const char = query.charAt(index);
    if (char === "'") {
      return { token: { kind: 'string', text: query.slice(start, index + 1), position: start, value, likeSource }, end: index + 1 };
    }
    if (char === '\\') {
      const next = query.charAt(index + 1);
      const lower = next.toLowerCase();
      if (next === '%' || next === '_') {
        value += `\\${next}`;
        likeSource += escapeRegex(next);
        index += 2;
        continue;
      }
      if (lower === 'u' && /^[0-9a-fA-F]{4}$/.test(query.slice(index + 2, index + 6))) {
        const decoded = String.fromCharCode(Number.parseInt(query.slice(index + 2, index + 6), 16));
        value += decoded;
        likeSource += escapeRegex(decoded);
        index += 6;
        continue;
      }
      const simple = SIMPLE_ESCAPES[next] ?? SIMPLE_ESCAPES[lower];
      if (simple === undefined) {
        throw malformedQuery(query, index, `Invalid string literal '${query.slice(start, Math.min(query.length, index + 2))}...'. Illegal character sequence '\\${next}' in string literal.`);
      }
      value += simple;
      likeSource += escapeRegex(simple);
      index += 2;
      continue;
    }
    value += char;
    likeSource += char === '%' ? '.*' : char === '_' ? '.' : escapeRegex(char);
    index += 1;
  }
  throw malformedQuery(query, start, `unexpected token: '${query.slice(start)}' (unterminated string literal)`);
}

/** Splits a SOQL statement into tokens; anything it cannot read is a MALFORMED_QUERY at that position. */
export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < query.length) {
    const char = query.charAt(index);
    if (/\s/.test(char)) {
      index += 1;
      continue;
    }
    const rest = query.slice(index);
    if (char === "'") {
      const { token, end } = readString(query, index);
      tokens.push(token);
      index = end;
      continue;
    }
    const dateTime = DATE_TIME_LITERAL.exec(rest);
    if (dateTime) {
      const instant = parseDateTime(dateTime[0]);
      if (instant === undefined) throw malformedQuery(query, index, `line 1:${index} no viable alternative at character '${dateTime[0]}' (invalid date-time)`);
      tokens.push({ kind: 'datetime', text: dateTime[0], position: index, instant });
      index += dateTime[0].length;
      continue;
    }
    if (/^\d{4}-\d{2}-\d{2}T/.test(rest)) {
      throw malformedQuery(query, index, `unexpected token: ${rest.split(/[\s,)]/)[0] ?? ''} (a date-time literal needs seconds and a time zone: Z or +hh:mm)`);
    }
    const date = DATE_LITERAL.exec(rest);
    if (date) {
      if (parseDateOnly(date[0]) === undefined) throw malformedQuery(query, index, `unexpected token: ${date[0]} (not a valid date)`);
      tokens.push({ kind: 'date', text: date[0], position: index, value: date[0] });
      index += date[0].length;
      continue;
    }
    const previous = tokens.at(-1);
    // A sign belongs to a number only where a value may start, so `Amount>-5` and `Amount > - 5` both work as in SOQL.
    const signAllowed = !previous || previous.kind === 'op' || (previous.kind === 'punct' && previous.text !== ')') || previous.kind === 'ident';
    const number = NUMBER.exec(rest);
    if (number && (/^[\d.]/.test(char) || signAllowed)) {
      tokens.push({ kind: 'number', text: number[0], position: index, numberValue: Number(number[0]) });
      index += number[0].length;
      continue;
    }
    const ident = IDENT.exec(rest);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], position: index });
      index += ident[0].length;
      continue;
    }
    const operator = OPERATORS.find((candidate) => rest.startsWith(candidate));
    if (operator) {
      tokens.push({ kind: 'op', text: operator, position: index });
      index += operator.length;
      continue;
    }
    if (',().:'.includes(char)) {
      tokens.push({ kind: 'punct', text: char, position: index });
      index += 1;
      continue;
    }
    throw malformedQuery(query, index, `line 1:${index} no viable alternative at character '${char}'`);
  }
  tokens.push({ kind: 'eof', text: '<EOF>', position: query.length });
  return tokens;
}
