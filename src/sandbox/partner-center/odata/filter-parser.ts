import type { ComparisonOperator, FilterExpression, Operand, PathRef, StringPredicate, StringTransform } from './filter-ast.ts';
import { logicalChain } from '../../shared/odata-lexer.ts';
import { tokenize, type Token } from './filter-tokenizer.ts';
import { describeType, isScalar, type FieldType, type ObjectType, type ScalarKind } from './field-types.ts';
import { parseInstant } from '../../../util/instant.ts';
import { ODataQueryError } from './odata-error.ts';

const COMPARISON_OPERATORS = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const STRING_PREDICATES = new Set<string>(['contains', 'startswith', 'endswith']);
const STRING_TRANSFORMS = new Set<string>(['tolower', 'toupper', 'trim']);
const LAMBDA_QUANTIFIERS = new Set<string>(['any', 'all']);

type Term = { kind: 'operand'; operand: Operand } | { kind: 'predicate'; expression: FilterExpression };

function fail(message: string): never {
  throw new ODataQueryError(message, '$filter');
}

/**
 * Recursive-descent parser for the OData `$filter` subset Partner Center documents (comparisons, and/or/not,
 * parentheses, `collection/any(x: …)`), type-checked against the referral's properties so a bad filter fails with a
 * 400 naming the problem rather than quietly matching nothing.
 *
 * Grammar:  or := and ('or' and)* ;  and := unary ('and' unary)* ;  unary := 'not' unary | comparison
 *           comparison := '(' or ')' | term (cmp term)?   term := literal | path | path '/' any|all '(' … ')' | fn '(' … ')'
 */
class FilterParser {
  private index = 0;
  private readonly scopes: Array<Map<string, FieldType>> = [];

  constructor(
    private readonly tokens: Token[],
    private readonly entity: ObjectType,
    private readonly entityName: string,
  ) {}

  parse(): FilterExpression {
    const expression = this.parseOr();
    const rest = this.peek();
    if (rest.kind !== 'eof') fail(`Syntax error at position ${rest.position} in $filter: unexpected ${describeToken(rest)}.`);
    return expression;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.index += 1;
    return token;
  }

  private expect(kind: Token['kind'], what: string): Token {
    const token = this.next();
    if (token.kind !== kind) fail(`Syntax error at position ${token.position} in $filter: expected ${what}, found ${describeToken(token)}.`);
    return token;
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.kind === 'identifier' && token.value.toLowerCase() === keyword;
  }

  private parseOr(): FilterExpression {
    return this.parseChain('or', () => this.parseAnd());
  }

  private parseAnd(): FilterExpression {
    return this.parseChain('and', () => this.parseUnary());
  }

  /** `a op b op c`, left-associative: `and` binds tighter than `or` by reading its operands one level down. */
  private parseChain(op: 'and' | 'or', operand: () => FilterExpression): FilterExpression {
    return logicalChain(operand, () => this.accept(op), (left, right) => ({ kind: 'logical', op, left, right }));
  }

  /** Consumes the keyword if it comes next. */
  private accept(keyword: string): boolean {
    if (!this.isKeyword(this.peek(), keyword)) return false;
    this.next();
    return true;
  }

  private parseUnary(): FilterExpression {
    if (this.accept('not')) {
      return { kind: 'not', operand: this.parseUnary() };
    }
    return this.parseComparison();
  }

  private parseComparison(): FilterExpression {
    if (this.peek().kind === 'lparen') {
      this.next();
      const inner = this.parseOr();
      this.expect('rparen', "')'");
      return inner;
    }
    const start = this.peek();
    const left = this.parseTerm();
    const operatorToken = this.peek();
    if (operatorToken.kind === 'identifier' && COMPARISON_OPERATORS.has(operatorToken.value.toLowerCase())) {
      this.next();
      const op = operatorToken.value.toLowerCase() as ComparisonOperator;
      const right = this.parseTerm();
      if (left.kind !== 'operand' || right.kind !== 'operand') {
        fail(`Operator '${op}' at position ${operatorToken.position} in $filter needs two values, not a boolean expression.`);
      }
      return checkComparison(op, left.operand, right.operand, operatorToken.position);
    }
    if (left.kind === 'predicate') return left.expression;
    const operand = left.operand;
    if (operand.kind === 'path' && operand.type === 'boolean') return { kind: 'booleanPath', path: operand.path };
    if (operand.kind === 'literal' && operand.type === 'boolean') return { kind: 'constant', value: operand.value === true };
    if (operatorToken.kind === 'identifier') {
      fail(`Unknown operator '${operatorToken.value}' at position ${operatorToken.position} in $filter; supported: eq, ne, gt, ge, lt, le, and, or, not.`);
    }
    fail(`Syntax error at position ${start.position} in $filter: expected a comparison (e.g. status eq 'New').`);
  }

  private parseTerm(): Term {
    const token = this.next();
    switch (token.kind) {
      case 'string':
        return { kind: 'operand', operand: { kind: 'literal', type: 'string', value: token.value } };
      case 'number':
        return { kind: 'operand', operand: { kind: 'literal', type: 'number', value: token.value } };
      case 'datetime': {
        const instant = parseInstant(token.value);
        if (instant === undefined) fail(`'${token.value}' at position ${token.position} in $filter is not a valid date-time.`);
        return { kind: 'operand', operand: { kind: 'literal', type: 'datetime', value: instant } };
      }
      case 'identifier':
        return this.parseIdentifierTerm(token);
      default:
        fail(`Syntax error at position ${token.position} in $filter: expected a value or property, found ${describeToken(token)}.`);
    }
  }

  private parseIdentifierTerm(token: Extract<Token, { kind: 'identifier' }>): Term {
    const lower = token.value.toLowerCase();
    if (lower === 'true' || lower === 'false') {
      return { kind: 'operand', operand: { kind: 'literal', type: 'boolean', value: lower === 'true' } };
    }
    if (lower === 'null') return { kind: 'operand', operand: { kind: 'literal', type: 'null', value: null } };
    if (this.peek().kind === 'lparen') return this.parseFunction(token);
    return this.parsePath(token);
  }

  private parseFunction(token: Extract<Token, { kind: 'identifier' }>): Term {
    const name = token.value.toLowerCase();
    this.expect('lparen', "'('");
    if (STRING_PREDICATES.has(name)) {
      const subject = this.parseStringOperand(name);
      this.expect('comma', "','");
      const search = this.parseStringOperand(name);
      this.expect('rparen', "')'");
      return { kind: 'predicate', expression: { kind: 'stringPredicate', fn: name as StringPredicate, subject, search } };
    }
    if (STRING_TRANSFORMS.has(name)) {
      const arg = this.parseStringOperand(name);
      this.expect('rparen', "')'");
      return { kind: 'operand', operand: { kind: 'transform', fn: name as StringTransform, arg, type: 'string' } };
    }
    fail(`Unknown function '${token.value}' at position ${token.position} in $filter; supported: contains, startswith, endswith, tolower, toupper, trim, any, all.`);
  }

  private parseStringOperand(fn: string): Operand {
    const term = this.parseTerm();
    if (term.kind !== 'operand' || (term.operand.type !== 'string' && term.operand.type !== 'enum')) {
      fail(`Function '${fn}' in $filter takes string arguments.`);
    }
    return term.operand;
  }

  private resolveRoot(name: string): { root: string | null; type: FieldType; segment: string | null } {
    for (let i = this.scopes.length - 1; i >= 0; i -= 1) {
      const type = this.scopes[i]?.get(name);
      if (type) return { root: name, type, segment: null };
    }
    const property = findProperty(this.entity, name);
    if (!property) fail(`Could not find a property named '${name}' on type '${this.entityName}' (in $filter).`);
    return { root: null, type: property.type, segment: property.name };
  }

  private parsePath(first: Extract<Token, { kind: 'identifier' }>): Term {
    const resolved = this.resolveRoot(first.value);
    const path: PathRef = { root: resolved.root, segments: resolved.segment ? [resolved.segment] : [], type: resolved.type };
    let display = first.value;
    while (this.peek().kind === 'slash') {
      this.next();
      const segment = this.expect('identifier', 'a property name after "/"') as Extract<Token, { kind: 'identifier' }>;
      if (LAMBDA_QUANTIFIERS.has(segment.value.toLowerCase()) && this.peek().kind === 'lparen') {
        return { kind: 'predicate', expression: this.parseLambda(path, display, segment.value.toLowerCase() as 'any' | 'all') };
      }
      if (path.type.kind !== 'object') {
        fail(`'${display}' in $filter is a ${describeType(path.type)}; it has no property '${segment.value}'.`);
      }
      const property = findProperty(path.type, segment.value);
      if (!property) fail(`Could not find a property named '${segment.value}' on '${display}' (in $filter).`);
      path.segments.push(property.name);
      path.type = property.type;
      display += `/${segment.value}`;
    }
    if (!isScalar(path.type)) {
      fail(`'${display}' in $filter is a ${describeType(path.type)} and cannot be compared; use a property of it${path.type.kind === 'collection' ? " or any()" : ''}.`);
    }
    return { kind: 'operand', operand: { kind: 'path', path, type: path.type.kind } };
  }

  private parseLambda(collectionPath: PathRef, display: string, quantifier: 'any' | 'all'): FilterExpression {
    if (collectionPath.type.kind !== 'collection') fail(`'${display}' in $filter is not a collection; ${quantifier}() needs one.`);
    this.expect('lparen', "'('");
    if (this.peek().kind === 'rparen') {
      this.next();
      if (quantifier === 'all') fail('all() in $filter needs a lambda expression, e.g. team/all(t: t/email ne null).');
      return { kind: 'lambda', quantifier, collection: collectionPath, variable: null, predicate: null };
    }
    const variable = this.expect('identifier', 'a lambda variable name') as Extract<Token, { kind: 'identifier' }>;
    this.expect('colon', "':' after the lambda variable");
    this.scopes.push(new Map([[variable.value, collectionPath.type.of]]));
    const predicate = this.parseOr();
    this.scopes.pop();
    this.expect('rparen', "')' closing the lambda");
    return { kind: 'lambda', quantifier, collection: collectionPath, variable: variable.value, predicate };
  }
}

/** Property names match case-insensitively: the docs' tables spell them in PascalCase, the wire in camelCase. */
function findProperty(type: ObjectType, name: string): { name: string; type: FieldType } | undefined {
  const exact = type.fields[name];
  if (exact) return { name, type: exact };
  const lower = name.toLowerCase();
  for (const [candidate, fieldType] of Object.entries(type.fields)) {
    if (candidate.toLowerCase() === lower) return { name: candidate, type: fieldType };
  }
  return undefined;
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of input';
    case 'identifier':
      return `'${token.value}'`;
    case 'string':
      return `string '${token.value}'`;
    case 'number':
      return `number ${token.value}`;
    case 'datetime':
      return `date-time ${token.value}`;
    default:
      return `'${{ lparen: '(', rparen: ')', comma: ',', colon: ':', slash: '/' }[token.kind]}'`;
  }
}

function kindName(kind: ScalarKind | 'null'): string {
  return kind === 'null' ? 'null' : describeType({ kind });
}

/** Date-time properties accept quoted ISO strings too (`updatedDateTime ge '2024-01-01T00:00:00Z'`), as clients write both. */
function coerceForDateTime(operand: Operand, position: number): Operand {
  if (operand.kind === 'literal' && operand.type === 'string' && typeof operand.value === 'string') {
    const instant = parseInstant(operand.value);
    if (instant === undefined) fail(`'${operand.value}' at position ${position} in $filter is not a valid date-time.`);
    return { kind: 'literal', type: 'datetime', value: instant };
  }
  return operand;
}

function compatible(a: ScalarKind | 'null', b: ScalarKind | 'null'): boolean {
  if (a === 'null' || b === 'null') return true;
  const text = (k: ScalarKind): boolean => k === 'string' || k === 'enum';
  return a === b || (text(a) && text(b));
}

function checkComparison(op: ComparisonOperator, rawLeft: Operand, rawRight: Operand, position: number): FilterExpression {
  let left = rawLeft;
  let right = rawRight;
  if (left.type === 'datetime') right = coerceForDateTime(right, position);
  if (right.type === 'datetime') left = coerceForDateTime(left, position);
  if (!compatible(left.type, right.type)) {
    fail(`Operator '${op}' at position ${position} in $filter cannot compare ${kindName(left.type)} with ${kindName(right.type)}.`);
  }
  return { kind: 'compare', op, left, right };
}

export function parseFilter(input: string, entity: ObjectType, entityName: string): FilterExpression {
  if (input.trim() === '') fail('$filter is empty.');
  return new FilterParser(tokenize(input), entity, entityName).parse();
}
