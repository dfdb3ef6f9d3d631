import { relativeResourcePath, type ContentIdMap } from '../data/bind-reference.ts';
import { odataError } from '../errors.ts';

export interface RequestTarget {
  /** Percent-decoded path below the service root. */
  path: string;
  rawQuery: string;
}

/**
 * Reduces a request target — `/api/data/v9.2/x?…`, an absolute URL (batch parts), a service-relative path or a
 * `$1/…` Content-ID reference — to the path below the service root and the raw query string.
 */
export function resolveTarget(target: string, contentIds?: ContentIdMap): RequestTarget {
  const withoutOrigin = target.replace(/^https?:\/\/[^/]+/i, '');
  const queryStart = withoutOrigin.indexOf('?');
  const rawPath = queryStart === -1 ? withoutOrigin : withoutOrigin.slice(0, queryStart);
  const rawQuery = queryStart === -1 ? '' : withoutOrigin.slice(queryStart + 1);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw odataError(`The request URL contains an invalid percent-encoding: '${rawPath}'.`);
  }
  return { path: relativeResourcePath(path, contentIds), rawQuery };
}
