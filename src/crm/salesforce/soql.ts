/*
 * SOQL literals. Values from Partner Center (company names, emails, referral ids) end up in WHERE clauses, so every
 * string goes through `soqlString`: SOQL's escape sequences for quotes, backslashes and control characters.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

export function soqlString(value: string): string {
  return `'${value.replace(/[\\'"\n\r\t\b\f]/g, (char) => ESCAPES[char] ?? char)}'`;
}

/**
 * A datetime literal (unquoted, REST API "Query") in whole seconds: fractional seconds are not in the documented
 * literal forms, and flooring only widens a `>=` window.
 */
export function soqlDateTime(instant: Date): string {
  return `${instant.toISOString().slice(0, 19)}Z`;
}

/** `IN (...)` of string literals; callers keep lists within the 200-record batches they work in. */
export function soqlStringList(values: readonly string[]): string {
  return `(${values.map(soqlString).join(', ')})`;
}
