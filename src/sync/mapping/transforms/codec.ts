import type { Reading, Writing } from '../canonical.ts';
import type { CanonicalValue } from '../../../canonical-value.ts';

/**
 * Converts one field between each side's raw values and its canonical value. Raw values come as lists: one per PC
 * path and one per CRM column of the field (composite fields have several).
 */
export interface FieldCodec {
  fromPc(values: readonly unknown[]): Reading;
  fromCrm(values: readonly unknown[]): Reading;
  toPc(value: CanonicalValue): Writing;
  toCrm(value: CanonicalValue): Writing;
}

/**
 * What `canonicalToCrm` puts in a lookup column: the code stays the value (canonical `USD`), and the connector
 * resolves it to a record (`transactioncurrencies?$filter=isocurrencycode eq 'USD'`) — the mapping layer never talks
 * to the CRM. Connectors may hand back either this shape or the plain code when reading.
 */
export interface LookupReference {
  kind: 'lookup';
  /** The table the lookup points at (`transactioncurrency`). */
  entity: string;
  /** The column of that table holding the code (`isocurrencycode`). */
  by: string;
  value: string;
}

export function isLookupReference(value: unknown): value is LookupReference {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'lookup' && 'value' in value;
}
