import type { StoredRecord } from '../data/record-store.ts';
import { dateOnlyOf } from '../data/wire-dates.ts';
import { toId18 } from '../ids.ts';
import type { FieldDefinition, FieldValue } from '../schema/field-model.ts';
import type { SObjectType } from '../schema/object-model.ts';
import type { ComparisonOperator, Condition, Literal } from './ast.ts';
import { resolvePath, valueAt, type QuerySource, type ResolvedPath } from './field-resolution.ts';
import { invalidField, invalidFilter } from './query-errors.ts';
import { relativeDateRange } from './relative-dates.ts';

export type RecordPredicate = (record: StoredRecord) => boolean;

type Category = 'text' | 'id' | 'number' | 'boolean' | 'date' | 'datetime';

/** A literal converted to the field's comparable form: one value, or a range for relative dates. */
type Operand = { kind: 'value'; value: string | number | boolean | null } | { kind: 'range'; start: string | number; end: string | number };

export function categoryOf(field: FieldDefinition): Category {
  switch (field.type) {
    case 'id':
    case 'reference':
      return 'id';
    case 'currency':
    case 'double':
    case 'percent':
    case 'int':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    default:
      return 'text';
  }
}

/** Long text areas cannot be filtered or sorted in SOQL. */
export function isLongText(field: FieldDefinition): boolean {
  return field.type === 'textarea' && field.length > 255;
}

const TYPE_NAMES: Record<Category, string> = { text: 'string', id: 'id', number: 'double', boolean: 'boolean', date: 'date', datetime: 'dateTime' };

/** Comparable form of a stored value: text lower-cased (SOQL compares strings case-insensitively), ids 18-char. */
function comparable(category: Category, value: FieldValue): string | number | boolean | null {
  if (value === null) return null;
  if (category === 'text') return String(value).toLowerCase();
  return value;
}

interface CompileContext {
  source: QuerySource;
  root: SObjectType;
  query: string;
  now: number;
}

function typeMismatch(ctx: CompileContext, literal: Literal, field: FieldDefinition, category: Category): never {
  const quoted = category === 'text' || category === 'id';
  throw invalidFilter(
    ctx.query,
    literal.position,
    `value of filter criterion for field '${field.name}' must be of type ${TYPE_NAMES[category]} and should ${quoted ? '' : 'not '}be enclosed in quotes`,
  );
}

function operandFor(ctx: CompileContext, field: FieldDefinition, literal: Literal): Operand {
  const category = categoryOf(field);
  if (literal.kind === 'null') return { kind: 'value', value: null };
  switch (category) {
    case 'text':
      if (literal.kind !== 'string') typeMismatch(ctx, literal, field, category);
      return { kind: 'value', value: literal.value.toLowerCase() };
    case 'id': {
      if (literal.kind !== 'string') typeMismatch(ctx, literal, field, category);
      const id = toId18(literal.value);
      if (!id) throw invalidFilter(ctx.query, literal.position, `invalid ID field: ${literal.value}`);
      return { kind: 'value', value: id };
    }
    case 'number':
      if (literal.kind !== 'number') typeMismatch(ctx, literal, field, category);
      return { kind: 'value', value: literal.value };
    case 'boolean':
      if (literal.kind !== 'boolean') typeMismatch(ctx, literal, field, category);
      return { kind: 'value', value: literal.value };
    case 'date':
      if (literal.kind === 'date') return { kind: 'value', value: literal.value };
      if (literal.kind === 'relativeDate') {
        const range = relativeDateRange(literal.value, ctx.now);
        return { kind: 'range', start: dateOnlyOf(range.start), end: dateOnlyOf(range.end) };
      }
      return typeMismatch(ctx, literal, field, category);
    case 'datetime':
      if (literal.kind === 'datetime') return { kind: 'value', value: literal.value };
      if (literal.kind === 'relativeDate') {
        const range = relativeDateRange(literal.value, ctx.now);
        return { kind: 'range', start: range.start, end: range.end };
      }
      return typeMismatch(ctx, literal, field, category);
  }
}

function compareValues(a: string | number | boolean, b: string | number | boolean): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** SOQL semantics: `!=` and NOT IN match nulls; ordering operators never do. */
function evaluate(operator: ComparisonOperator, actual: string | number | boolean | null, operand: Operand): boolean {
  if (operand.kind === 'range') {
    if (actual === null) return operator === '!=';
    const inRange = actual >= operand.start && actual < operand.end;
    switch (operator) {
      case '=':
        return inRange;
      case '!=':
        return !inRange;
      case '<':
        return actual < operand.start;
      case '<=':
        return actual < operand.end;
      case '>':
        return actual >= operand.end;
      case '>=':
        return actual >= operand.start;
    }
  }
  const expected = operand.value;
  if (operator === '=') return actual === expected;
  if (operator === '!=') return actual !== expected;
  if (actual === null || expected === null) return false;
  const order = compareValues(actual, expected);
  return operator === '<' ? order < 0 : operator === '<=' ? order <= 0 : operator === '>' ? order > 0 : order >= 0;
}

function filterablePath(ctx: CompileContext, path: ResolvedPath, position: number): ResolvedPath {
  if (isLongText(path.field)) throw invalidField(ctx.query, position, `field '${path.field.name}' can not be filtered in a query call`);
  return path;
}

function compile(ctx: CompileContext, condition: Condition): RecordPredicate {
  switch (condition.kind) {
    case 'and': {
      const parts = condition.operands.map((operand) => compile(ctx, operand));
      return (record) => parts.every((part) => part(record));
    }
    case 'or': {
      const parts = condition.operands.map((operand) => compile(ctx, operand));
      return (record) => parts.some((part) => part(record));
    }
    case 'not': {
      const inner = compile(ctx, condition.operand);
      return (record) => !inner(record);
    }
    case 'compare': {
      const path = filterablePath(ctx, resolvePath(ctx.source, ctx.root, condition.field, ctx.query), condition.field.position);
      const category = categoryOf(path.field);
      const operand = operandFor(ctx, path.field, condition.value);
      if (condition.operator !== '=' && condition.operator !== '!=' && category === 'boolean') {
        throw invalidFilter(ctx.query, condition.field.position, `invalid operator on boolean field: ${path.field.name}`);
      }
      return (record) => evaluate(condition.operator, comparable(category, valueAt(ctx.source, record, path)), operand);
    }
    case 'in': {
      const path = filterablePath(ctx, resolvePath(ctx.source, ctx.root, condition.field, ctx.query), condition.field.position);
      const category = categoryOf(path.field);
      const operands = condition.values.map((literal) => operandFor(ctx, path.field, literal));
      return (record) => {
        const actual = comparable(category, valueAt(ctx.source, record, path));
        const found = operands.some((operand) => evaluate('=', actual, operand));
        return condition.negated ? !found : found;
      };
    }
    case 'like': {
      const path = filterablePath(ctx, resolvePath(ctx.source, ctx.root, condition.field, ctx.query), condition.field.position);
      if (categoryOf(path.field) !== 'text') throw invalidFilter(ctx.query, condition.field.position, `invalid operator on ${TYPE_NAMES[categoryOf(path.field)]} field: ${path.field.name}`);
      if (condition.pattern.kind !== 'string') typeMismatch(ctx, condition.pattern, path.field, 'text');
      const pattern = new RegExp(`^${condition.pattern.likeSource}$`, 'is');
      return (record) => {
        const actual = valueAt(ctx.source, record, path);
        return actual !== null && pattern.test(String(actual));
      };
    }
  }
}

export function compileFilter(source: QuerySource, root: SObjectType, condition: Condition | undefined, query: string, now: number): RecordPredicate {
  if (!condition) return () => true;
  return compile({ source, root, query, now }, condition);
}

export { comparable };
