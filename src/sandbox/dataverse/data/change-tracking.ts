import { odataError } from '../errors.ts';

/** Formats a delta token the way Dataverse does: `<row version>!<MM/DD/YYYY HH:mm:ss>` (the version is what matters). */
export function formatDeltaToken(version: number, at: Date = new Date()): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())}/${at.getUTCFullYear()} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
  return `${version}!${stamp}`;
}

export function parseDeltaToken(token: string): number {
  const match = /^(\d+)(?:!.*)?$/.exec(token.trim());
  if (!match?.[1]) throw odataError(`The delta token '${token}' is invalid. Start a new change tracking session with Prefer: odata.track-changes.`);
  return Number(match[1]);
}

export interface PagingCookie {
  page: number;
  offset: number;
  /** Row version the tracked snapshot started at; only for change-tracking sessions. */
  version?: number;
}

/** The `$skiptoken` value, shaped like the real `<cookie pagenumber=… pagingcookie=… istracking=… />`. */
export function formatSkipToken(cookie: PagingCookie): string {
  const tracking = cookie.version !== undefined;
  const paging = `offset=${cookie.offset}${tracking ? `;version=${cookie.version}` : ''}`;
  return `<cookie pagenumber="${cookie.page}" pagingcookie="${paging}" istracking="${tracking ? 'True' : 'False'}" />`;
}

export function parseSkipToken(token: string): PagingCookie {
  const page = /pagenumber="(\d+)"/.exec(token)?.[1];
  const paging = /pagingcookie="offset=(\d+)(?:;version=(\d+))?"/.exec(token);
  if (!page || !paging?.[1]) throw odataError(`The $skiptoken '${token}' is not valid; follow @odata.nextLink unchanged.`);
  return { page: Number(page), offset: Number(paging[1]), ...(paging[2] ? { version: Number(paging[2]) } : {}) };
}
