import { odataError } from '../errors.ts';
import { splitTopLevel } from './query-options.ts';

export interface PathSegment {
  name: string;
  /** Raw text between the parentheses (`5e1f…` or `new_key='abc'`); undefined when the segment has none. */
  key?: string;
}

export type KeyLiteral = string | number | boolean | null;

export type KeyPredicate = { kind: 'id'; id: string } | { kind: 'alternate'; values: Map<string, KeyLiteral> };

const GUID = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;

/** Splits `set(key)/prop/…` into segments, keeping slashes and parentheses inside quoted key values intact. */
export function parsePathSegments(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < path.length) {
    let name = '';
    while (i < path.length && path[i] !== '(' && path[i] !== '/') name += path[i++];
    let key: string | undefined;
    if (path[i] === '(') {
      let depth = 0;
      let quoted = false;
      const start = i + 1;
      for (; i < path.length; i += 1) {
        const char = path[i];
        if (char === "'") quoted = !quoted;
        else if (!quoted && char === '(') depth += 1;
        else if (!quoted && char === ')') {
          depth -= 1;
          if (depth === 0) break;
        }
      }
      if (i >= path.length) throw odataError(`Bad Request - Error in query syntax: unbalanced parentheses in '${path}'.`);
      key = path.slice(start, i);
      i += 1;
    }
    segments.push(key === undefined ? { name } : { name, key });
    if (path[i] === '/') i += 1;
    else if (i < path.length) throw odataError(`Bad Request - Error in query syntax: unexpected '${path[i] ?? ''}' in '${path}'.`);
  }
  return segments.filter((segment) => segment.name !== '' || segment.key !== undefined);
}

function parseKeyLiteral(text: string): KeyLiteral {
  const value = text.trim();
  if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) return value.slice(1, -1).replace(/''/g, "'");
  const guid = GUID.exec(value);
  if (guid?.[1]) return guid[1].toLowerCase();
  if (value === 'null') return null;
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  throw odataError(`Bad Request - Error in query syntax: '${value}' is not a valid key value.`);
}

export function parseKeyPredicate(raw: string): KeyPredicate {
  const guid = GUID.exec(raw.trim());
  if (guid?.[1]) return { kind: 'id', id: guid[1].toLowerCase() };
  const values = new Map<string, KeyLiteral>();
  for (const part of splitTopLevel(raw, ',')) {
    const equals = part.indexOf('=');
    if (equals === -1) throw odataError(`Bad Request - Error in query syntax: the key '${raw}' is neither a GUID nor a list of name=value pairs.`);
    values.set(part.slice(0, equals).trim(), parseKeyLiteral(part.slice(equals + 1)));
  }
  if (values.size === 0) throw odataError('Bad Request - Error in query syntax: empty key.');
  return { kind: 'alternate', values };
}

export function formatKeyLiteral(value: KeyLiteral): string {
  if (typeof value === 'string') return GUID.test(value) ? value : `'${value.replace(/'/g, "''")}'`;
  return String(value);
}
