export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type LiteralType = 'Edm.String' | 'Edm.Int32' | 'Edm.Decimal' | 'Edm.Boolean' | 'Edm.Guid' | 'Edm.DateTimeOffset' | 'Edm.Date' | 'Edm.Enum' | 'null';

export type FilterNode =
  | { kind: 'logical'; op: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; op: ComparisonOperator; left: FilterNode; right: FilterNode }
  | { kind: 'literal'; type: LiteralType; value: string | number | boolean | null }
  | { kind: 'property'; path: string[] }
  /** OData canonical functions: contains, startswith, endswith, tolower, toupper, trim. */
  | { kind: 'call'; name: string; args: FilterNode[] }
  /** Dataverse query functions, `Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=['1','2'])`. */
  | { kind: 'crmCall'; name: string; parameters: Record<string, FilterNode> }
  | { kind: 'list'; items: FilterNode[] };
