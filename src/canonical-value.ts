/*
 * The canonical form of a synced field: the one value both sides are converted to so that a three-way merge can
 * compare them, and what the store keeps as a pair's base. Conversions normalize (trimmed strings, rounded money,
 * `YYYY-MM-DD` dates, sorted multi-selects, `null` for empty), so equal meaning compares equal and an echo of our own
 * write shows no difference. It lives below both the store and the sync so that neither imports the other's types.
 */

export type CanonicalValue = string | number | boolean | null | string[];

/**
 * Field key → canonical value. A key that is *absent* means "not readable this time" (a value no mapping entry
 * covers, a column the connector did not read, the Microsoft referral not supplied) — never the same as `null`.
 */
export type CanonicalRecord = Record<string, CanonicalValue>;
