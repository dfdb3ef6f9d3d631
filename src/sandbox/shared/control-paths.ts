/** Every sandbox keeps its control API under this prefix; it is never faulted, counted or authenticated. */
export const CONTROL_PREFIX = '/_sandbox/';

export function requestPath(url: string): string {
  const queryStart = url.indexOf('?');
  return queryStart === -1 ? url : url.slice(0, queryStart);
}

/** Case-insensitive, because a sandbox may route case-insensitively (as ASP.NET-based vendor APIs do). */
export function isControlPath(path: string): boolean {
  const lower = path.toLowerCase();
  return lower === CONTROL_PREFIX.slice(0, -1) || lower.startsWith(CONTROL_PREFIX);
}
