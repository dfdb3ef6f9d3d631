import type { FieldType, ScalarKind } from './field-types.ts';

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type StringPredicate = 'contains' | 'startswith' | 'endswith';
export type StringTransform = 'tolower' | 'toupper' | 'trim';

/** A property path from the referral (`root: null`) or from a lambda variable. */
export interface PathRef {
  root: string | null;
  segments: string[];
  type: FieldType;
}

export type Operand =
  | { kind: 'literal'; type: ScalarKind | 'null'; value: string | number | boolean | bigint | null }
  | { kind: 'path'; path: PathRef; type: ScalarKind }
  | { kind: 'transform'; fn: StringTransform; arg: Operand; type: 'string' };

export type FilterExpression =
  | { kind: 'logical'; op: 'and' | 'or'; left: FilterExpression; right: FilterExpression }
  | { kind: 'not'; operand: FilterExpression }
  | { kind: 'compare'; op: ComparisonOperator; left: Operand; right: Operand }
  | { kind: 'lambda'; quantifier: 'any' | 'all'; collection: PathRef; variable: string | null; predicate: FilterExpression | null }
  | { kind: 'stringPredicate'; fn: StringPredicate; subject: Operand; search: Operand }
  | { kind: 'booleanPath'; path: PathRef }
  | { kind: 'constant'; value: boolean };
