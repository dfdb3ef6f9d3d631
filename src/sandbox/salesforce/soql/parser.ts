import type { ComparisonOperator, Condition, FieldPath, Literal, OrderItem, SelectItem, SoqlQuery } from './ast.ts';
import { malformedQuery } from './query-errors.ts';
import { tokenize, type Token } from './tokenizer.ts';

/** Relative date literals the sandbox evaluates; the `_N_` forms take `:n`. */
export const RELATIVE_DATES = new Set([
  'YESTERDAY',
  'TODAY',
  'TOMORROW',
  'LAST_WEEK',
  'THIS_WEEK',
  'NEXT_WEEK',
  'LAST_MONTH',
  'THIS_MONTH',
  'NEXT_MONTH',
  'LAST_90_DAYS',
  'NEXT_90_DAYS',
]);
export const RELATIVE_DATES_WITH_N = new Set(['LAST_N_DAYS', 'NEXT_N_DAYS', 'N_DAYS_AGO']);

const SUPPORTED = 'the sandbox supports SELECT fields|COUNT()|FIELDS(...) FROM object [WHERE ...] [ORDER BY ...] [LIMIT n] [OFFSET n]';

/** Clauses and functions real SOQL has but this sandbox does not; named in the error so the gap is obvious. */
const UNSUPPORTED_CLAUSES = new Set(['GROUP', 'HAVING', 'WITH', 'USING', 'FOR', 'UPDATE', 'TYPEOF']);

class Parser {
  private index = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  private get current(): Token {
    return this.tokens[this.index] ?? this.tokens[this.tokens.length - 1]!;
  }

  private peek(offset = 1): Token {
    return this.tokens[this.index + offset] ?? this.tokens[this.tokens.length - 1]!;
  }

  private advance(): Token {
    const token = this.current;
    if (token.kind !== 'eof') this.index += 1;
    return token;
  }

  private isKeyword(word: string, token: Token = this.current): boolean {
    return token.kind === 'ident' && token.text.toUpperCase() === word;
  }

  private fail(token: Token, detail?: string): never {
    throw malformedQuery(this.text, token.position, `unexpected token: ${token.text}${detail ? ` (${detail})` : ''}`);
  }

  private expectKeyword(word: string): Token {
    if (!this.isKeyword(word)) this.fail(this.current, `expected ${word}`);
    return this.advance();
  }

  private expectPunct(char: string): Token {
    if (this.current.kind !== 'punct' || this.current.text !== char) this.fail(this.current, `expected '${char}'`);
    return this.advance();
  }

  parse(): SoqlQuery {
    this.expectKeyword('SELECT');
    const select = this.selectList();
    this.expectKeyword('FROM');
    const fromToken = this.current;
    if (fromToken.kind !== 'ident') this.fail(fromToken, 'expected an object name');
    this.advance();
    if (this.current.kind === 'punct' && this.current.text === ',') this.fail(this.current, 'querying several objects is not supported');
    if (this.current.kind === 'ident' && !this.isClauseKeyword(this.current)) this.fail(this.current, 'object aliases are not supported by the sandbox');
    const where = this.isKeyword('WHERE') ? (this.advance(), this.condition()) : undefined;
    const orderBy = this.isKeyword('ORDER') ? this.orderBy() : [];
    const limit = this.isKeyword('LIMIT') ? this.integerAfter('LIMIT') : undefined;
    const offset = this.isKeyword('OFFSET') ? this.integerAfter('OFFSET') : undefined;
    const end = this.current;
    if (end.kind !== 'eof') {
      const word = end.text.toUpperCase();
      if (UNSUPPORTED_CLAUSES.has(word)) this.fail(end, `${word} is not supported: ${SUPPORTED}`);
      this.fail(end);
    }
    return { text: this.text, select, from: { name: fromToken.text, position: fromToken.position }, where, orderBy, limit, offset };
  }

  private isClauseKeyword(token: Token): boolean {
    return ['WHERE', 'ORDER', 'LIMIT', 'OFFSET', ...UNSUPPORTED_CLAUSES].includes(token.text.toUpperCase());
  }

  private selectList(): SelectItem[] {
    const items: SelectItem[] = [this.selectItem()];
    while (this.current.kind === 'punct' && this.current.text === ',') {
      this.advance();
      items.push(this.selectItem());
    }
    return items;
  }

  private selectItem(): SelectItem {
    const token = this.current;
    if (token.kind === 'punct' && token.text === '(') this.fail(token, `relationship subqueries are not supported: ${SUPPORTED}`);
    if (token.kind !== 'ident') this.fail(token, 'expected a field name');
    const next = this.peek();
    if (next.kind === 'punct' && next.text === '(') {
      const name = token.text.toUpperCase();
      if (name === 'COUNT' && this.peek(2).kind === 'punct' && this.peek(2).text === ')') {
        this.index += 3;
        return { kind: 'count', position: token.position };
      }
      if (name === 'FIELDS') {
        this.index += 2;
        const which = this.advance();
        const upper = which.text.toUpperCase();
        if (upper !== 'ALL' && upper !== 'STANDARD' && upper !== 'CUSTOM') this.fail(which, 'FIELDS() takes ALL, STANDARD or CUSTOM');
        this.expectPunct(')');
        return { kind: 'fields', which: upper, position: token.position };
      }
      this.fail(token, `aggregate and other functions (${token.text}) are not supported; only COUNT() is: ${SUPPORTED}`);
    }
    if (this.isKeyword('TYPEOF')) this.fail(token, `TYPEOF is not supported: ${SUPPORTED}`);
    return { kind: 'field', path: this.fieldPath() };
  }

  private fieldPath(): FieldPath {
    const first = this.current;
    if (first.kind !== 'ident') this.fail(first, 'expected a field name');
    this.advance();
    const segments = [first.text];
    while (this.current.kind === 'punct' && this.current.text === '.') {
      this.advance();
      const part = this.current;
      if (part.kind !== 'ident') this.fail(part, 'expected a field name after "."');
      this.advance();
      segments.push(part.text);
    }
    return { segments, position: first.position };
  }

  /**
   * SOQL refuses `a AND b OR c`: mixing AND and OR at one level needs parentheses. The sandbox enforces the same rule,
   * so a query that works here also parses in a real org.
   */
  private condition(): Condition {
    const first = this.unary();
    if (!this.isKeyword('AND') && !this.isKeyword('OR')) return first;
    const joiner = this.current.text.toUpperCase();
    const operands = [first];
    while (this.isKeyword('AND') || this.isKeyword('OR')) {
      const token = this.current;
      if (token.text.toUpperCase() !== joiner) this.fail(token, 'mixing AND and OR requires parentheses');
      this.advance();
      operands.push(this.unary());
    }
    return { kind: joiner === 'AND' ? 'and' : 'or', operands };
  }

  private unary(): Condition {
    if (this.isKeyword('NOT')) {
      this.advance();
      return { kind: 'not', operand: this.unary() };
    }
    if (this.current.kind === 'punct' && this.current.text === '(') {
      this.advance();
      const inner = this.condition();
      this.expectPunct(')');
      return inner;
    }
    return this.predicate();
  }

  private predicate(): Condition {
    const field = this.fieldPath();
    const token = this.current;
    if (token.kind === 'op') {
      this.advance();
      const operator: ComparisonOperator = token.text === '<>' ? '!=' : (token.text as ComparisonOperator);
      return { kind: 'compare', field, operator, value: this.literal() };
    }
    if (this.isKeyword('LIKE')) {
      this.advance();
      return { kind: 'like', field, pattern: this.literal() };
    }
    const negated = this.isKeyword('NOT') && this.isKeyword('IN', this.peek());
    if (negated) this.advance();
    if (this.isKeyword('IN')) {
      this.advance();
      this.expectPunct('(');
      if (this.isKeyword('SELECT')) this.fail(this.current, `semi-join subqueries are not supported: ${SUPPORTED}`);
      const values = [this.literal()];
      while (this.current.kind === 'punct' && this.current.text === ',') {
        this.advance();
        values.push(this.literal());
      }
      this.expectPunct(')');
      return { kind: 'in', field, negated, values };
    }
    if (this.isKeyword('INCLUDES') || this.isKeyword('EXCLUDES')) this.fail(token, `INCLUDES/EXCLUDES are not supported: ${SUPPORTED}`);
    this.fail(token, 'expected a comparison operator, LIKE, IN or NOT IN');
  }

  private literal(): Literal {
    const token = this.advance();
    const position = token.position;
    switch (token.kind) {
      case 'string':
        return { kind: 'string', value: token.value ?? '', likeSource: token.likeSource ?? '', position };
      case 'number':
        return { kind: 'number', value: token.numberValue ?? 0, position };
      case 'date':
        return { kind: 'date', value: token.value ?? '', position };
      case 'datetime':
        return { kind: 'datetime', value: token.instant ?? 0, position };
      case 'ident': {
        const upper = token.text.toUpperCase();
        if (upper === 'TRUE' || upper === 'FALSE') return { kind: 'boolean', value: upper === 'TRUE', position };
        if (upper === 'NULL') return { kind: 'null', position };
        if (RELATIVE_DATES.has(upper)) return { kind: 'relativeDate', value: { name: upper }, position };
        if (RELATIVE_DATES_WITH_N.has(upper)) {
          this.expectPunct(':');
          const n = this.advance();
          if (n.kind !== 'number' || !Number.isInteger(n.numberValue) || (n.numberValue ?? -1) < 0) this.fail(n, `${upper} needs a whole number of days, e.g. ${upper}:30`);
          return { kind: 'relativeDate', value: { name: upper, n: n.numberValue ?? 0 }, position };
        }
        return this.fail(token);
      }
      case 'punct':
        if (token.text === ':') this.fail(token, 'bind variables are not supported');
        return this.fail(token);
      default:
        return this.fail(token);
    }
  }

  private orderBy(): OrderItem[] {
    this.expectKeyword('ORDER');
    this.expectKeyword('BY');
    const items: OrderItem[] = [];
    do {
      if (items.length > 0) this.advance();
      const path = this.fieldPath();
      let descending = false;
      if (this.isKeyword('ASC') || this.isKeyword('DESC')) descending = this.advance().text.toUpperCase() === 'DESC';
      // SOQL's default: nulls first ascending, last descending.
      let nullsLast = descending;
      if (this.isKeyword('NULLS')) {
        this.advance();
        if (!this.isKeyword('FIRST') && !this.isKeyword('LAST')) this.fail(this.current, 'expected FIRST or LAST');
        nullsLast = this.advance().text.toUpperCase() === 'LAST';
      }
      items.push({ path, descending, nullsLast });
    } while (this.current.kind === 'punct' && this.current.text === ',');
    return items;
  }

  private integerAfter(keyword: string): number {
    this.advance();
    const token = this.advance();
    if (token.kind !== 'number' || !Number.isInteger(token.numberValue) || (token.numberValue ?? -1) < 0) this.fail(token, `${keyword} takes a non-negative whole number`);
    return token.numberValue ?? 0;
  }
}

/** Parses the SOQL subset the sandbox runs; anything else is a MALFORMED_QUERY naming what was not understood. */
export function parseSoql(text: string): SoqlQuery {
  if (text.trim() === '') throw malformedQuery(text, 0, 'unexpected token: <EOF> (empty query)');
  return new Parser(text, tokenize(text)).parse();
}
