import { odataError } from '../errors.ts';
import type { ComparisonOperator, FilterNode } from './filter-ast.ts';

/** A typed accessor for one property path; `type` is an EDM type name, or `any` to skip type checks (metadata). */
export interface ResolvedProperty<Row> {
  type: string;
  get: (row: Row) => unknown;
}

export interface PropertyResolver<Row> {
  /** Throws the service's "Could not find a property named …" error for unknown paths. */
  resolve(path: string[]): ResolvedProperty<Row>;
}

export type RowPredicate<Row> = (row: Row) => boolean;

const NUMERIC = new Set(['Edm.Int32', 'Edm.Int64', 'Edm.Decimal', 'Edm.Double']);
const TEMPORAL = new Set(['Edm.Date', 'Edm.DateTimeOffset']);
const OPERATOR_KIND: Record<ComparisonOperator, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};

function compatible(a: string, b: string): boolean {
  if (a === b || a === 'any' || b === 'any' || a === 'null' || b === 'null') return true;
  if (NUMERIC.has(a) && NUMERIC.has(b)) return true;
  if (TEMPORAL.has(a) && TEMPORAL.has(b)) return true;
  return (a === 'Edm.Enum' && b === 'Edm.String') || (a === 'Edm.String' && b === 'Edm.Enum');
}

function isTextual(type: string): boolean {
  return type === 'Edm.String' || type === 'Edm.Enum' || type === 'any';
}

type Comparable = string | number | boolean | null;

/** Dataverse compares text case-insensitively (SQL collation) and dates as instants. */
function comparable(value: unknown, type: string): Comparable {
  if (value === undefined || value === null) return null;
  if (TEMPORAL.has(type) && typeof value === 'string') {
    const instant = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
    return Number.isNaN(instant) ? value : instant;
  }
  if (typeof value === 'string') return value.toLowerCase();
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

function order(a: Comparable, b: Comparable): number {
  if (a === null || b === null) return Number.NaN;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const left = String(a);
  const right = String(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

function applyComparison(op: ComparisonOperator, a: Comparable, b: Comparable): boolean {
  if (op === 'eq') return a === null || b === null ? a === b : order(a, b) === 0;
  if (op === 'ne') return a === null || b === null ? a !== b : order(a, b) !== 0;
  const result = order(a, b);
  if (Number.isNaN(result)) return false;
  if (op === 'gt') return result > 0;
  if (op === 'ge') return result >= 0;
  if (op === 'lt') return result < 0;
  return result <= 0;
}

/** The type to compare two sides under: the more specific of the two (a date literal against a date column …). */
function comparisonType(a: string, b: string): string {
  if (TEMPORAL.has(a) || TEMPORAL.has(b)) return 'Edm.DateTimeOffset';
  if (a === 'any' || a === 'null') return b;
  return a;
}

class FilterCompiler<Row> {
  constructor(private readonly resolver: PropertyResolver<Row>) {}

  operand(node: FilterNode): ResolvedProperty<Row> {
    switch (node.kind) {
      case 'literal':
        return { type: node.type, get: () => node.value };
      case 'property':
        return this.resolver.resolve(node.path);
      case 'call': {
        if (!['tolower', 'toupper', 'trim'].includes(node.name)) break;
        const [argument] = node.args;
        if (!argument || node.args.length !== 1) throw odataError(`The function '${node.name}' takes exactly one argument.`);
        const inner = this.operand(argument);
        const transform = node.name === 'tolower' ? (s: string) => s.toLowerCase() : node.name === 'toupper' ? (s: string) => s.toUpperCase() : (s: string) => s.trim();
        return { type: 'Edm.String', get: (row) => {
          const value = inner.get(row);
          return typeof value === 'string' ? transform(value) : value;
        } };
      }
      default:
        break;
    }
    throw odataError('A boolean expression was used where a value was expected in $filter.');
  }

  predicate(node: FilterNode): RowPredicate<Row> {
    switch (node.kind) {
      case 'logical': {
        const left = this.predicate(node.left);
        const right = this.predicate(node.right);
        return node.op === 'and' ? (row) => left(row) && right(row) : (row) => left(row) || right(row);
      }
      case 'not': {
        const inner = this.predicate(node.operand);
        return (row) => !inner(row);
      }
      case 'compare':
        return this.comparison(node.op, node.left, node.right);
      case 'call':
        return this.stringFunction(node.name, node.args);
      case 'crmCall':
        return this.crmFunction(node.name, node.parameters);
      case 'literal':
        if (node.type === 'Edm.Boolean') return () => node.value === true;
        break;
      case 'property': {
        const property = this.resolver.resolve(node.path);
        if (property.type !== 'Edm.Boolean' && property.type !== 'any') break;
        return (row) => property.get(row) === true;
      }
      default:
        break;
    }
    throw odataError('The $filter expression must evaluate to a boolean (Edm.Boolean) value.');
  }

  private comparison(op: ComparisonOperator, leftNode: FilterNode, rightNode: FilterNode): RowPredicate<Row> {
    const left = this.operand(leftNode);
    const right = this.operand(rightNode);
    if (!compatible(left.type, right.type)) {
      throw odataError(
        `A binary operator with incompatible types was detected. Found operand types '${left.type}' and '${right.type}' for operator kind '${OPERATOR_KIND[op]}'.`,
      );
    }
    const type = comparisonType(left.type, right.type);
    return (row) => applyComparison(op, comparable(left.get(row), type), comparable(right.get(row), type));
  }

  private stringFunction(name: string, args: FilterNode[]): RowPredicate<Row> {
    if (!['contains', 'startswith', 'endswith'].includes(name)) throw odataError(`The function '${name}' does not return a boolean value.`);
    const [subjectNode, searchNode] = args;
    if (!subjectNode || !searchNode || args.length !== 2) throw odataError(`The function '${name}' takes exactly two arguments.`);
    const subject = this.operand(subjectNode);
    const search = this.operand(searchNode);
    if (!isTextual(subject.type) || !isTextual(search.type)) {
      throw odataError(`No function signature for the function with name '${name}' matches the specified arguments. The function signatures considered are: ${name}(Edm.String Nullable=true, Edm.String Nullable=true).`);
    }
    return (row) => {
      const value = subject.get(row);
      const needle = search.get(row);
      if (typeof value !== 'string' || typeof needle !== 'string') return false;
      const haystack = value.toLowerCase();
      const wanted = needle.toLowerCase();
      return name === 'contains' ? haystack.includes(wanted) : name === 'startswith' ? haystack.startsWith(wanted) : haystack.endsWith(wanted);
    };
  }

  /** The Dataverse query functions that map to plain comparisons; the date-relative ones need a user time zone. */
  private crmFunction(name: string, parameters: Record<string, FilterNode>): RowPredicate<Row> {
    const propertyName = parameters.PropertyName;
    if (propertyName?.kind !== 'literal' || typeof propertyName.value !== 'string') {
      throw odataError(`Microsoft.Dynamics.CRM.${name} requires a PropertyName string parameter.`);
    }
    const property = this.resolver.resolve(propertyName.value.split('/'));
    const rawValues = parameters.PropertyValues ?? parameters.PropertyValue;
    const values = (rawValues?.kind === 'list' ? rawValues.items : rawValues ? [rawValues] : []).map((item) => {
      if (item.kind !== 'literal') throw odataError(`Microsoft.Dynamics.CRM.${name}: PropertyValues must be literals.`);
      return this.coerce(item.value, property.type);
    });
    const current = (row: Row): Comparable => comparable(property.get(row), property.type);
    const among = (row: Row): boolean => values.some((value) => applyComparison('eq', current(row), value));
    const between = (row: Row): boolean => {
      const [low, high] = values;
      const value = current(row);
      return low !== undefined && high !== undefined && applyComparison('ge', value, low) && applyComparison('le', value, high);
    };
    const day = (row: Row, op: ComparisonOperator): boolean => {
      const value = property.get(row);
      const [wanted] = values;
      if (typeof value !== 'string' || typeof wanted !== 'number') return false;
      return applyComparison(op, comparable(value.slice(0, 10), 'Edm.Date'), comparable(new Date(wanted).toISOString().slice(0, 10), 'Edm.Date'));
    };
    const selected = (row: Row): Set<string> => new Set(String(property.get(row) ?? '').split(',').filter((v) => v !== ''));
    switch (name) {
      case 'In':
        return among;
      case 'NotIn':
        return (row) => !among(row);
      case 'Between':
        return between;
      case 'NotBetween':
        return (row) => !between(row);
      case 'ContainValues':
        return (row) => values.some((value) => selected(row).has(String(value)));
      case 'DoesNotContainValues':
        return (row) => !values.some((value) => selected(row).has(String(value)));
      case 'On':
        return (row) => day(row, 'eq');
      case 'OnOrAfter':
        return (row) => day(row, 'ge');
      case 'OnOrBefore':
        return (row) => day(row, 'le');
      default:
        throw odataError(`The query function Microsoft.Dynamics.CRM.${name} is not supported by the sandbox.`);
    }
  }

  /** Query-function values always travel as strings; they take the property's type. */
  private coerce(value: string | number | boolean | null, type: string): Comparable {
    if (value === null) return null;
    if (NUMERIC.has(type)) return Number(value);
    if (type === 'Edm.Boolean') return String(value).toLowerCase() === 'true';
    return comparable(value, type);
  }
}

export function compileFilter<Row>(node: FilterNode, resolver: PropertyResolver<Row>): RowPredicate<Row> {
  return new FilterCompiler(resolver).predicate(node);
}

/** Sort comparator over resolved properties, using the same value semantics as `$filter` (nulls first ascending). */
export function compareForSort(a: unknown, b: unknown, type: string): number {
  const left = comparable(a, type);
  const right = comparable(b, type);
  if (left === null && right === null) return 0;
  if (left === null) return -1;
  if (right === null) return 1;
  return order(left, right);
}
