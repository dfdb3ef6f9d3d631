import type { StoredRecord } from '../data/record-store.ts';
import { renderFieldValue, sobjectUrl } from '../data/record-wire.ts';
import type { SObjectType } from '../schema/object-model.ts';
import type { SelectItem, SoqlQuery } from './ast.ts';
import { followHop, resolvePath, valueAt, type QuerySource, type ResolvedPath } from './field-resolution.ts';
import { categoryOf, comparable, compileFilter, isLongText } from './filter-compiler.ts';
import { parseSoql } from './parser.ts';
import { invalidField, invalidType, malformedQuery } from './query-errors.ts';
import { badRequest, ErrorCode } from '../errors.ts';

export type JsonRecord = Record<string, unknown>;

export interface QueryOptions {
  /** queryAll: include rows in the recycle bin (REST API "Query"). */
  includeDeleted: boolean;
  /** API version of the request, for `attributes.url`. */
  version: string;
  /** URL segment before `/sobjects` (`` for data, `/tooling` for the Tooling API). */
  apiPrefix?: string;
  now?: number;
}

export interface QueryOutcome {
  totalSize: number;
  records: JsonRecord[];
}

/** Real SOQL caps OFFSET at 2000. */
const MAX_OFFSET = 2000;
/** FIELDS(ALL) and FIELDS(CUSTOM) are bounded queries in SOQL. */
const MAX_FIELDS_FUNCTION_LIMIT = 200;

interface Plan {
  type: SObjectType;
  count: boolean;
  columns: ResolvedPath[];
}

function plan(source: QuerySource, query: SoqlQuery): Plan {
  const type = source.registry.get(query.from.name);
  if (!type || !type.capabilities.queryable) throw invalidType(query.text, query.from.position, query.from.name);
  const count = query.select.some((item) => item.kind === 'count');
  if (count && query.select.length > 1) {
    const other = query.select.find((item) => item.kind !== 'count') ?? query.select[0];
    throw malformedQuery(query.text, positionOf(other), 'COUNT() cannot be combined with other fields in the select list');
  }
  const columns: ResolvedPath[] = [];
  const seen = new Set<string>();
  for (const item of query.select) {
    if (item.kind === 'count') continue;
    if (item.kind === 'fields') {
      if (item.which !== 'STANDARD' && (query.limit === undefined || query.limit > MAX_FIELDS_FUNCTION_LIMIT)) {
        throw malformedQuery(query.text, item.position, `The SOQL FIELDS function must have a LIMIT of at most ${MAX_FIELDS_FUNCTION_LIMIT}`);
      }
      for (const field of type.fields) {
        if ((item.which === 'CUSTOM' && !field.custom) || (item.which === 'STANDARD' && field.custom)) continue;
        const key = field.name.toLowerCase();
        if (seen.has(key)) continue;
        seen.add(key);
        columns.push({ hops: [], field, key });
      }
      continue;
    }
    const resolved = resolvePath(source, type, item.path, query.text);
    if (seen.has(resolved.key)) throw malformedQuery(query.text, item.path.position, `duplicate field selected: ${item.path.segments.join('.')}`);
    seen.add(resolved.key);
    columns.push(resolved);
  }
  return { type, count, columns };
}

function positionOf(item: SelectItem | undefined): number {
  if (!item) return 0;
  return item.kind === 'field' ? item.path.position : item.position;
}

type SortKey = (record: StoredRecord) => string | number | boolean | null;

function sorter(source: QuerySource, type: SObjectType, query: SoqlQuery): (a: StoredRecord, b: StoredRecord) => number {
  const keys = query.orderBy.map((item) => {
    const path = resolvePath(source, type, item.path, query.text);
    if (isLongText(path.field)) throw invalidField(query.text, item.path.position, `field '${path.field.name}' can not be sorted in a query call`);
    const category = categoryOf(path.field);
    const key: SortKey = (record) => comparable(category, valueAt(source, record, path));
    return { key, descending: item.descending, nullsLast: item.nullsLast };
  });
  return (a, b) => {
    for (const { key, descending, nullsLast } of keys) {
      const left = key(a);
      const right = key(b);
      if (left === right) continue;
      if (left === null) return nullsLast ? 1 : -1;
      if (right === null) return nullsLast ? -1 : 1;
      const order = left < right ? -1 : 1;
      return descending ? -order : order;
    }
    return a.sequence - b.sequence;
  };
}

/** One result row: selected fields in select order, parents nested under their relationship names with attributes. */
function render(source: QuerySource, type: SObjectType, record: StoredRecord, columns: ResolvedPath[], options: QueryOptions): JsonRecord {
  const prefix = options.apiPrefix ?? '';
  const row: JsonRecord = { attributes: { type: type.name, url: sobjectUrl(options.version, type.name, record.id, prefix) } };
  for (const column of columns) {
    let target: JsonRecord | null = row;
    let current: StoredRecord | undefined = record;
    for (const hop of column.hops) {
      if (target === null) break;
      const parent: { record: StoredRecord; type: SObjectType } | undefined = current ? followHop(source, current, hop) : undefined;
      const existing: unknown = target[hop.name];
      if (existing === undefined) {
        target[hop.name] = parent ? { attributes: { type: parent.type.name, url: sobjectUrl(options.version, parent.type.name, parent.record.id, prefix) } } : null;
      }
      target = (target[hop.name] as JsonRecord | null) ?? null;
      current = parent?.record;
    }
    if (target !== null && current) target[column.field.name] = renderFieldValue(column.field, current.values[column.field.name] ?? null);
  }
  return row;
}

/** Runs a SOQL statement against one org (data or tooling) and returns every matching row, rendered. */
export function runQuery(source: QuerySource, text: string, options: QueryOptions): QueryOutcome {
  const query = parseSoql(text);
  const { type, count, columns } = plan(source, query);
  if (query.offset !== undefined && query.offset > MAX_OFFSET) {
    throw badRequest(ErrorCode.NumberOutsideValidRange, `Maximum SOQL offset allowed is ${MAX_OFFSET}`);
  }
  const predicate = compileFilter(source, type, query.where, query.text, options.now ?? Date.now());
  const compare = sorter(source, type, query);
  const matching = source.store
    .all(type.name, { includeDeleted: options.includeDeleted })
    // queryAll reads the recycle bin; rows deleted past it (see StoredRecord.outsideRecycleBin) are not there.
    .filter((row) => row.outsideRecycleBin !== true)
    .filter(predicate)
    .sort(compare);
  const start = query.offset ?? 0;
  const selected = matching.slice(start, query.limit === undefined ? undefined : start + query.limit);
  if (count) return { totalSize: selected.length, records: [] };
  return { totalSize: selected.length, records: selected.map((record) => render(source, type, record, columns, options)) };
}
