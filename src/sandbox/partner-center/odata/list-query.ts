import type { FilterExpression } from './filter-ast.ts';
import { compareValues, evaluateFilter } from './filter-evaluator.ts';
import { parseFilter } from './filter-parser.ts';
import { isScalar, type FieldType, type ObjectType, type ScalarKind } from './field-types.ts';
import { ODataQueryError } from './odata-error.ts';
import { cachedInstant } from './instant-cache.ts';

export const DEFAULT_PAGE_SIZE = 100;

export interface OrderKey {
  path: string[];
  type: ScalarKind;
  descending: boolean;
}

/** Position after the last item of a page: its sort-key values and id, so inserts between pages cannot shift it. */
interface Cursor {
  order: string;
  keys: Array<string | number | boolean | null>;
  id: string;
}

export interface ListQuery {
  filter: FilterExpression | undefined;
  orderBy: OrderKey[];
  pageSize: number;
  skip: number;
  select: string[] | undefined;
  count: boolean;
  cursor: Cursor | undefined;
}

export interface ListPage<T> {
  value: T[];
  /** Matches before paging, for `@odata.count`. */
  total: number;
  /** Present when more items remain; goes into the next link's `$skiptoken`. */
  nextSkipToken: string | undefined;
}

const KNOWN_OPTIONS = ['$filter', '$orderby', '$top', '$skip', '$select', '$count', '$skiptoken', '$expand', '$search', '$format'];

/**
 * Reads the `$`-options case-insensitively (`$Filter` works) and rejects an option given twice, which OData forbids
 * and which usually means a client bug when building URLs.
 */
function readOptions(params: URLSearchParams): Map<string, string> {
  const options = new Map<string, string>();
  for (const [rawKey, value] of params) {
    const key = rawKey.toLowerCase();
    if (!key.startsWith('$')) continue;
    if (!KNOWN_OPTIONS.includes(key)) continue; // unknown `$` options are ignored, as lenient OData services do
    if (options.has(key)) throw new ODataQueryError(`Query option '${key}' was given more than once.`, key);
    options.set(key, value);
  }
  return options;
}

function parseNonNegativeInteger(value: string, option: string): number {
  if (!/^\s*\d+\s*$/.test(value)) throw new ODataQueryError(`${option} must be a non-negative integer, got '${value}'.`, option);
  return Number(value);
}

function findField(type: ObjectType, name: string): { name: string; type: FieldType } | undefined {
  const lower = name.toLowerCase();
  const match = Object.entries(type.fields).find(([candidate]) => candidate.toLowerCase() === lower);
  return match ? { name: match[0], type: match[1] } : undefined;
}

function parseOrderBy(value: string, entity: ObjectType): OrderKey[] {
  return value.split(',').map((clause) => {
    const parts = clause.trim().split(/\s+/);
    const [pathText, direction, ...extra] = parts;
    if (!pathText || extra.length > 0 || (direction !== undefined && !/^(asc|desc)$/i.test(direction))) {
      throw new ODataQueryError(`Invalid $orderby clause '${clause.trim()}'; expected '<property> [asc|desc]'.`, '$orderby');
    }
    let type: FieldType = entity;
    const path: string[] = [];
    for (const segment of pathText.split('/')) {
      const field: { name: string; type: FieldType } | undefined = type.kind === 'object' ? findField(type, segment) : undefined;
      if (!field) throw new ODataQueryError(`Could not find a property named '${pathText}' to order by.`, '$orderby');
      path.push(field.name);
      type = field.type;
    }
    if (!isScalar(type)) throw new ODataQueryError(`Cannot order by '${pathText}': it is not a single value.`, '$orderby');
    return { path, type: type.kind, descending: direction?.toLowerCase() === 'desc' };
  });
}

function parseSelect(value: string, entity: ObjectType, extra: readonly string[]): string[] | undefined {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.includes('*')) return undefined;
  return names.map((name) => {
    if (name.includes('/')) throw new ODataQueryError(`$select supports top-level properties only; '${name}' is a nested path.`, '$select');
    const field = findField(entity, name);
    if (field) return field.name;
    const extraMatch = extra.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (extraMatch) return extraMatch;
    throw new ODataQueryError(`Could not find a property named '${name}' to select.`, '$select');
  });
}

function orderSignature(orderBy: readonly OrderKey[]): string {
  return orderBy.map((key) => `${key.path.join('/')} ${key.descending ? 'desc' : 'asc'}`).join(',');
}

function decodeCursor(token: string, expectedOrder: string): Cursor {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof decoded.order === 'string' && Array.isArray(decoded.keys) && typeof decoded.id === 'string') {
      if (decoded.order !== expectedOrder) {
        throw new ODataQueryError('$skiptoken was issued for a different $orderby; follow @odata.nextLink unchanged.', '$skiptoken');
      }
      return decoded as Cursor;
    }
  } catch (error) {
    if (error instanceof ODataQueryError) throw error;
  }
  throw new ODataQueryError('$skiptoken is not valid; follow @odata.nextLink unchanged.', '$skiptoken');
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

export function parseListQuery(params: URLSearchParams, entity: ObjectType, entityName: string, selectExtra: readonly string[] = []): ListQuery {
  const options = readOptions(params);
  const filterText = options.get('$filter');
  const orderBy = options.has('$orderby') ? parseOrderBy(options.get('$orderby') ?? '', entity) : [];
  // Without $orderby the order is still fixed (creation order) so that paging is deterministic.
  const effectiveOrder = orderBy.length > 0 ? orderBy : [{ path: ['createdDateTime'], type: 'datetime' as const, descending: false }];
  const countText = options.get('$count')?.toLowerCase();
  if (countText !== undefined && countText !== 'true' && countText !== 'false') {
    throw new ODataQueryError(`$count must be true or false, got '${options.get('$count')}'.`, '$count');
  }
  const topText = options.get('$top');
  // UNCONFIRMED whether the service treats $top as a page size or a total; as a page size (with @odata.nextLink when
  // more remain) no client loses data either way, so that is the tolerant reading.
  const pageSize = topText === undefined ? DEFAULT_PAGE_SIZE : Math.min(parseNonNegativeInteger(topText, '$top'), DEFAULT_PAGE_SIZE);
  const skipToken = options.get('$skiptoken');
  return {
    filter: filterText === undefined ? undefined : parseFilter(filterText, entity, entityName),
    orderBy: effectiveOrder,
    pageSize,
    skip: options.has('$skip') ? parseNonNegativeInteger(options.get('$skip') ?? '', '$skip') : 0,
    select: options.has('$select') ? parseSelect(options.get('$select') ?? '', entity, selectExtra) : undefined,
    count: countText === 'true',
    cursor: skipToken === undefined ? undefined : decodeCursor(skipToken, orderSignature(effectiveOrder)),
  };
}

type SortValue = string | number | boolean | bigint | null;

function sortValue(item: Record<string, unknown>, key: OrderKey): SortValue {
  let current: unknown = item;
  for (const segment of key.path) {
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return rawToSortValue(current, key.type);
}

function rawToSortValue(raw: unknown, type: ScalarKind): SortValue {
  if (raw === undefined || raw === null) return null;
  if (type === 'datetime') return typeof raw === 'string' ? (cachedInstant(raw) ?? null) : null;
  if (type === 'enum' && typeof raw === 'string') return raw.toLowerCase();
  return typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean' ? raw : null;
}

function rawKey(item: Record<string, unknown>, key: OrderKey): string | number | boolean | null {
  let current: unknown = item;
  for (const segment of key.path) {
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return typeof current === 'string' || typeof current === 'number' || typeof current === 'boolean' ? current : null;
}

function compareByKeys(
  aValues: readonly SortValue[],
  aId: string,
  bValues: readonly SortValue[],
  bId: string,
  orderBy: readonly OrderKey[],
): number {
  for (const [index, key] of orderBy.entries()) {
    const order = compareValues(aValues[index] ?? null, bValues[index] ?? null);
    if (order !== 0) return key.descending ? -order : order;
  }
  // Ties break on id so the order — and therefore every page boundary — is total and stable.
  return aId < bId ? -1 : aId > bId ? 1 : 0;
}

export function runListQuery(items: ReadonlyArray<Record<string, unknown>>, query: ListQuery): ListPage<Record<string, unknown>> {
  const idOf = (item: Record<string, unknown>): string => String(item.id ?? '');
  const matching = query.filter ? items.filter((item) => evaluateFilter(query.filter as FilterExpression, item)) : [...items];
  const keyed = matching.map((item) => ({ item, values: query.orderBy.map((key) => sortValue(item, key)), id: idOf(item) }));
  const byKeys = (a: (typeof keyed)[number], b: (typeof keyed)[number]): number => compareByKeys(a.values, a.id, b.values, b.id, query.orderBy);

  // Past the cursor before sorting: a late page of a long listing sorts only what is left, not everything.
  let remaining = keyed;
  if (query.cursor) {
    const cursor = query.cursor;
    const cursorValues = query.orderBy.map((key, index) => rawToSortValue(cursor.keys[index] ?? null, key.type));
    remaining = keyed.filter((entry) => compareByKeys(entry.values, entry.id, cursorValues, cursor.id, query.orderBy) > 0).sort(byKeys);
  } else {
    remaining = keyed.sort(byKeys).slice(query.skip);
  }

  const page = remaining.slice(0, query.pageSize);
  const last = page[page.length - 1];
  const nextSkipToken =
    remaining.length > page.length && last
      ? encodeCursor({ order: orderSignature(query.orderBy), keys: query.orderBy.map((key) => rawKey(last.item, key)), id: last.id })
      : undefined;
  const value = page.map(({ item }) => (query.select ? pick(item, query.select) : item));
  return { value, total: matching.length, nextSkipToken };
}

function pick(item: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of fields) picked[field] = item[field] ?? null;
  return picked;
}
