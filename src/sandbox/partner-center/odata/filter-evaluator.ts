import type { ComparisonOperator, FilterExpression, Operand, PathRef } from './filter-ast.ts';
import { cachedInstant } from './instant-cache.ts';

type Bindings = ReadonlyMap<string, unknown>;
type Value = string | number | boolean | bigint | null;

function walk(value: unknown, segments: readonly string[]): unknown {
  let current = value;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function resolvePath(path: PathRef, entity: unknown, bindings: Bindings): unknown {
  const start = path.root === null ? entity : bindings.get(path.root);
  return walk(start, path.segments);
}

function toScalar(raw: unknown, type: Operand['type']): Value {
  if (raw === undefined || raw === null) return null;
  if (type === 'datetime') return typeof raw === 'string' ? (cachedInstant(raw) ?? null) : null;
  if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') return raw;
  return null;
}

function evaluateOperand(operand: Operand, entity: unknown, bindings: Bindings): Value {
  switch (operand.kind) {
    case 'literal':
      return operand.value;
    case 'path':
      return toScalar(resolvePath(operand.path, entity, bindings), operand.type);
    case 'transform': {
      const value = evaluateOperand(operand.arg, entity, bindings);
      if (typeof value !== 'string') return null;
      if (operand.fn === 'tolower') return value.toLowerCase();
      if (operand.fn === 'toupper') return value.toUpperCase();
      return value.trim();
    }
  }
}

/** Enum properties compare case-insensitively, matching how the service parses enum names. */
function normalizeText(value: Value, caseInsensitive: boolean): Value {
  return caseInsensitive && typeof value === 'string' ? value.toLowerCase() : value;
}

export function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : 1;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a ? 1 : -1;
  const left = String(a);
  const right = String(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

function compare(op: ComparisonOperator, left: Value, right: Value): boolean {
  if (op === 'eq') return left === right;
  if (op === 'ne') return left !== right;
  // OData: an ordering comparison with null is false, never an error.
  if (left === null || right === null) return false;
  const order = compareValues(left, right);
  switch (op) {
    case 'gt':
      return order > 0;
    case 'ge':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'le':
      return order <= 0;
  }
}

export function evaluateFilter(expression: FilterExpression, entity: unknown, bindings: Bindings = new Map()): boolean {
  switch (expression.kind) {
    case 'constant':
      return expression.value;
    case 'logical':
      return expression.op === 'and'
        ? evaluateFilter(expression.left, entity, bindings) && evaluateFilter(expression.right, entity, bindings)
        : evaluateFilter(expression.left, entity, bindings) || evaluateFilter(expression.right, entity, bindings);
    case 'not':
      return !evaluateFilter(expression.operand, entity, bindings);
    case 'booleanPath':
      return resolvePath(expression.path, entity, bindings) === true;
    case 'compare': {
      const caseInsensitive = expression.left.type === 'enum' || expression.right.type === 'enum';
      const left = normalizeText(evaluateOperand(expression.left, entity, bindings), caseInsensitive);
      const right = normalizeText(evaluateOperand(expression.right, entity, bindings), caseInsensitive);
      return compare(expression.op, left, right);
    }
    case 'stringPredicate': {
      const subject = evaluateOperand(expression.subject, entity, bindings);
      const search = evaluateOperand(expression.search, entity, bindings);
      if (typeof subject !== 'string' || typeof search !== 'string') return false;
      if (expression.fn === 'contains') return subject.includes(search);
      if (expression.fn === 'startswith') return subject.startsWith(search);
      return subject.endsWith(search);
    }
    case 'lambda': {
      const items = resolvePath(expression.collection, entity, bindings);
      const list = Array.isArray(items) ? items : [];
      const { predicate, variable } = expression;
      if (predicate === null || variable === null) return list.length > 0;
      const test = (item: unknown): boolean => evaluateFilter(predicate, entity, new Map([...bindings, [variable, item]]));
      return expression.quantifier === 'any' ? list.some(test) : list.every(test);
    }
  }
}

/**
 * The engagement ids a filter pins with `engagementId eq '…'` in its top-level conjunction — what the documented
 * `links.relatedReferrals` URL does. Used to decide when Microsoft's side of an engagement is visible.
 */
export function engagementScope(expression: FilterExpression): string[] {
  if (expression.kind === 'logical' && expression.op === 'and') {
    return [...engagementScope(expression.left), ...engagementScope(expression.right)];
  }
  if (expression.kind === 'compare' && expression.op === 'eq') {
    const { left, right } = expression;
    const isEngagementPath = (o: Operand): boolean => o.kind === 'path' && o.path.root === null && o.path.segments.join('/') === 'engagementId';
    const literal = (o: Operand): string | undefined => (o.kind === 'literal' && typeof o.value === 'string' ? o.value : undefined);
    if (isEngagementPath(left)) return literal(right) === undefined ? [] : [literal(right) as string];
    if (isEngagementPath(right)) return literal(left) === undefined ? [] : [literal(left) as string];
  }
  return [];
}
