/** A dotted field path as written (`Name`, `Account.Name`, `Owner.Name`), with its position for error messages. */
export interface FieldPath {
  segments: string[];
  position: number;
}

export type SelectItem =
  | { kind: 'field'; path: FieldPath }
  | { kind: 'count'; position: number }
  | { kind: 'fields'; which: 'ALL' | 'STANDARD' | 'CUSTOM'; position: number };

/** Relative date literals (TODAY, LAST_N_DAYS:n, …): a range of days. */
export interface RelativeDate {
  name: string;
  n?: number;
}

export type Literal =
  | { kind: 'string'; value: string; likeSource: string; position: number }
  | { kind: 'number'; value: number; position: number }
  | { kind: 'boolean'; value: boolean; position: number }
  | { kind: 'null'; position: number }
  | { kind: 'date'; value: string; position: number }
  | { kind: 'datetime'; value: number; position: number }
  | { kind: 'relativeDate'; value: RelativeDate; position: number };

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { kind: 'and' | 'or'; operands: Condition[] }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; field: FieldPath; operator: ComparisonOperator; value: Literal }
  | { kind: 'in'; field: FieldPath; negated: boolean; values: Literal[] }
  | { kind: 'like'; field: FieldPath; pattern: Literal };

export interface OrderItem {
  path: FieldPath;
  descending: boolean;
  nullsLast: boolean;
}

export interface SoqlQuery {
  text: string;
  select: SelectItem[];
  from: { name: string; position: number };
  where: Condition | undefined;
  orderBy: OrderItem[];
  limit: number | undefined;
  offset: number | undefined;
}
