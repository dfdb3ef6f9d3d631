import { notSupported, odataError } from '../errors.ts';
import type { FilterNode } from './filter-ast.ts';
import { parseFilter } from './filter-parser.ts';

export interface OrderByItem {
  property: string;
  descending: boolean;
}

export interface ExpandOption {
  navigationProperty: string;
  select?: string[];
  expand: ExpandOption[];
}

export interface QueryOptions {
  select?: string[];
  filter?: FilterNode;
  orderBy?: OrderByItem[];
  top?: number;
  count: boolean;
  expand: ExpandOption[];
  skipToken?: string;
  deltaToken?: string;
}

/**
 * Splits a raw query string without turning `+` into a space: OData literals such as `2026-01-01T00:00:00+02:00`
 * keep their plus sign when a client forgets to percent-encode it (tolerant choice).
 */
export function parseQueryString(raw: string): Map<string, string> {
  const params = new Map<string, string>();
  if (raw === '') return params;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const key = safeDecode(equals === -1 ? part : part.slice(0, equals));
    const value = equals === -1 ? '' : safeDecode(part.slice(equals + 1));
    if (params.has(key)) throw odataError(`Query option '${key}' was specified more than once, but it must be specified at most once.`);
    params.set(key, value);
  }
  return params;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw odataError(`The query string contains an invalid percent-encoding: '${text}'.`);
  }
}

/** Splits on a separator at nesting depth 0, ignoring separators inside parentheses or quoted strings. */
export function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (char === "'") quoted = !quoted;
    else if (!quoted && char === '(') depth += 1;
    else if (!quoted && char === ')') depth -= 1;
    else if (!quoted && depth === 0 && char === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

function parseSelect(value: string): string[] {
  const columns = value.split(',').map((column) => column.trim()).filter((column) => column !== '');
  if (columns.length === 0) throw odataError('The $select query option must name at least one column.');
  return columns;
}

function parseOrderBy(value: string): OrderByItem[] {
  return splitTopLevel(value, ',').map((item) => {
    const [property = '', direction, extra] = item.split(/\s+/);
    if (extra !== undefined || (direction !== undefined && !/^(asc|desc)$/i.test(direction))) {
      throw odataError(`Syntax error in $orderby: '${item}'. Expected '<property> [asc|desc]'.`);
    }
    return { property, descending: direction?.toLowerCase() === 'desc' };
  });
}

function parseExpand(value: string): ExpandOption[] {
  return splitTopLevel(value, ',').map((item) => {
    const open = item.indexOf('(');
    if (open === -1) return { navigationProperty: item, expand: [] };
    if (!item.endsWith(')')) throw odataError(`Syntax error in $expand: '${item}'.`);
    const option: ExpandOption = { navigationProperty: item.slice(0, open).trim(), expand: [] };
    for (const nested of splitTopLevel(item.slice(open + 1, -1), ';')) {
      const equals = nested.indexOf('=');
      const name = nested.slice(0, equals).trim();
      const nestedValue = nested.slice(equals + 1);
      if (name === '$select') option.select = parseSelect(nestedValue);
      else if (name === '$expand') option.expand = parseExpand(nestedValue);
      else throw odataError(`The query option '${name}' inside $expand of a single-valued navigation property is not supported.`);
    }
    return option;
  });
}

function parseTop(value: string): number {
  if (!/^\d+$/.test(value)) throw odataError(`Invalid value '${value}' for $top query option found. The $top query option requires a non-negative integer value.`);
  return Number(value);
}

function parseCount(value: string): boolean {
  if (value !== 'true' && value !== 'false') throw odataError(`'${value}' is not a valid count option.`);
  return value === 'true';
}

/** Non-`$` parameters the real service understands but the sandbox does not emulate. */
const UNSUPPORTED_PARAMETERS = new Set(['fetchXml', 'savedQuery', 'userQuery']);

export function parseQueryOptions(params: Map<string, string>): QueryOptions {
  const options: QueryOptions = { count: false, expand: [] };
  for (const [key, value] of params) {
    switch (key) {
      case '$select':
        options.select = parseSelect(value);
        break;
      case '$filter':
        options.filter = parseFilter(value);
        break;
      case '$orderby':
        options.orderBy = parseOrderBy(value);
        break;
      case '$top':
        options.top = parseTop(value);
        break;
      case '$count':
        options.count = parseCount(value);
        break;
      case '$expand':
        options.expand = parseExpand(value);
        break;
      case '$skiptoken':
        options.skipToken = value;
        break;
      case '$deltatoken':
        options.deltaToken = value;
        break;
      case '$skip':
        throw odataError('The query parameter $skip is not supported');
      default:
        if (key.startsWith('$')) throw odataError(`The query parameter ${key} is not supported`);
        if (UNSUPPORTED_PARAMETERS.has(key)) throw notSupported(`The '${key}' query parameter is not supported by the Dataverse sandbox.`);
      // Anything else (`tag`, parameter aliases) is accepted and ignored, as the real service does for `tag`.
    }
  }
  return options;
}
