import { odataError } from '../errors.ts';
import type { ComparisonOperator, FilterNode } from './filter-ast.ts';
import { logicalChain } from '../../shared/odata-lexer.ts';
import { tokenize, type Token } from './filter-tokenizer.ts';

const COMPARISONS: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const CANONICAL_FUNCTIONS: ReadonlySet<string> = new Set(['contains', 'startswith', 'endswith', 'tolower', 'toupper', 'trim']);
const CRM_FUNCTION_PREFIX = 'microsoft.dynamics.crm.';

/** Recursive-descent parser for the `$filter` subset Dataverse supports; precedence or < and < not < comparison. */
class FilterParser {
  private index = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly input: string,
  ) {}

  private peek(): Token {
    return this.tokens[this.index] ?? { kind: 'eof', position: this.input.length };
  }

  private next(): Token {
    const token = this.peek();
    this.index += 1;
    return token;
  }

  private fail(message: string, token: Token = this.peek()): never {
    throw odataError(`Syntax error at position ${token.position} in '${this.input}': ${message}`);
  }

  private expect(kind: Token['kind'], what: string): Token {
    const token = this.next();
    if (token.kind !== kind) this.fail(`expected ${what}.`, token);
    return token;
  }

  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token.kind === 'identifier' && token.value.toLowerCase() === word;
  }

  parse(): FilterNode {
    const node = this.parseOr();
    if (this.peek().kind !== 'eof') this.fail('unexpected text after the end of the expression.');
    return node;
  }

  private parseOr(): FilterNode {
    return this.parseChain('or', () => this.parseAnd());
  }

  private parseAnd(): FilterNode {
    return this.parseChain('and', () => this.parseUnary());
  }

  /** `a op b op c`, left-associative: `and` binds tighter than `or` by reading its operands one level down. */
  private parseChain(op: 'and' | 'or', operand: () => FilterNode): FilterNode {
    return logicalChain(operand, () => this.accept(op), (left, right) => ({ kind: 'logical', op, left, right }));
  }

  /** Consumes the keyword if it comes next. */
  private accept(keyword: string): boolean {
    if (!this.isKeyword(keyword)) return false;
    this.next();
    return true;
  }

  private parseUnary(): FilterNode {
    if (this.accept('not')) {
      return { kind: 'not', operand: this.parseUnary() };
    }
    return this.parseComparison();
  }

  private parseComparison(): FilterNode {
    const left = this.parsePrimary();
    const token = this.peek();
    if (token.kind === 'identifier' && COMPARISONS.has(token.value.toLowerCase())) {
      this.next();
      const op = token.value.toLowerCase() as ComparisonOperator;
      return { kind: 'compare', op, left, right: this.parsePrimary() };
    }
    return left;
  }

  private parsePrimary(): FilterNode {
    const token = this.next();
    switch (token.kind) {
      case 'lparen': {
        const inner = this.parseOr();
        this.expect('rparen', "')'");
        return inner;
      }
      case 'string':
        return { kind: 'literal', type: 'Edm.String', value: token.value };
      case 'enum':
        return { kind: 'literal', type: 'Edm.Enum', value: token.value };
      case 'integer':
        return { kind: 'literal', type: 'Edm.Int32', value: token.value };
      case 'decimal':
        return { kind: 'literal', type: 'Edm.Decimal', value: token.value };
      case 'guid':
        return { kind: 'literal', type: 'Edm.Guid', value: token.value };
      case 'datetime':
        return { kind: 'literal', type: 'Edm.DateTimeOffset', value: token.value };
      case 'date':
        return { kind: 'literal', type: 'Edm.Date', value: token.value };
      case 'lbracket':
        return this.parseListRest();
      case 'identifier':
        return this.parseIdentifier(token.value);
      default:
        return this.fail('expected a property, literal or function.', token);
    }
  }

  private parseListRest(): FilterNode {
    const items: FilterNode[] = [];
    if (this.peek().kind !== 'rbracket') {
      for (;;) {
        items.push(this.parsePrimary());
        if (this.peek().kind !== 'comma') break;
        this.next();
      }
    }
    this.expect('rbracket', "']'");
    return { kind: 'list', items };
  }

  private parseIdentifier(name: string): FilterNode {
    const lower = name.toLowerCase();
    if (lower === 'true' || lower === 'false') return { kind: 'literal', type: 'Edm.Boolean', value: lower === 'true' };
    if (lower === 'null') return { kind: 'literal', type: 'null', value: null };
    if (this.peek().kind === 'lparen') {
      if (lower.startsWith(CRM_FUNCTION_PREFIX)) return this.parseCrmCall(name.slice(CRM_FUNCTION_PREFIX.length));
      if (CANONICAL_FUNCTIONS.has(lower)) return this.parseCall(lower);
      this.fail(`the function '${name}' is not supported.`);
    }
    const path = [name];
    while (this.peek().kind === 'slash') {
      this.next();
      const segment = this.expect('identifier', 'a property name after /');
      if (segment.kind === 'identifier') path.push(segment.value);
    }
    const last = path[path.length - 1]?.toLowerCase();
    if (last === 'any' || last === 'all') this.fail('lambda operators (any/all) are not supported by the sandbox.');
    return { kind: 'property', path };
  }

  private parseCall(name: string): FilterNode {
    this.expect('lparen', "'('");
    const args: FilterNode[] = [];
    if (this.peek().kind !== 'rparen') {
      for (;;) {
        args.push(this.parseOr());
        if (this.peek().kind !== 'comma') break;
        this.next();
      }
    }
    this.expect('rparen', "')'");
    return { kind: 'call', name, args };
  }

  private parseCrmCall(name: string): FilterNode {
    this.expect('lparen', "'('");
    const parameters: Record<string, FilterNode> = {};
    if (this.peek().kind !== 'rparen') {
      for (;;) {
        const parameter = this.expect('identifier', 'a parameter name');
        this.expect('equals', "'='");
        if (parameter.kind === 'identifier') parameters[parameter.value] = this.parsePrimary();
        if (this.peek().kind !== 'comma') break;
        this.next();
      }
    }
    this.expect('rparen', "')'");
    return { kind: 'crmCall', name, parameters };
  }
}

export function parseFilter(input: string): FilterNode {
  if (input.trim() === '') throw odataError('The $filter query option must not be empty.');
  return new FilterParser(tokenize(input), input).parse();
}
