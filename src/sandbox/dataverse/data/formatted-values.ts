import { optionLabel, type AttributeDefinition } from '../metadata/attribute-model.ts';
import type { StoredValue } from './record.ts';

/** What formatting needs from outside the column: the row's currency symbol. */
export interface FormatContext {
  currencySymbol: string;
}

const US_NUMBER = new Intl.NumberFormat('en-US');

function formatDate(value: string, dateOnly: boolean): string {
  const date = new Date(dateOnly ? `${value.slice(0, 10)}T00:00:00Z` : value);
  const day = `${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()}`;
  if (dateOnly) return day;
  const hours = date.getUTCHours();
  const minutes = String(date.getUTCMinutes()).padStart(2, '0');
  return `${day} ${hours % 12 === 0 ? 12 : hours % 12}:${minutes} ${hours < 12 ? 'AM' : 'PM'}`;
}

/**
 * The `@OData.Community.Display.V1.FormattedValue` of a column, as an en-US user with UTC time zone sees it
 * (`$125,000.00`, `12/31/2026`, `Won`, `Yes`). Lookups are formatted by the caller (they need the target row).
 */
export function formatValue(attribute: AttributeDefinition, value: StoredValue | undefined, context: FormatContext): string | undefined {
  if (value === undefined || value === null || !attribute.validForRead) return undefined;
  switch (attribute.kind) {
    case 'Picklist':
    case 'State':
    case 'Status':
      return typeof value === 'number' ? optionLabel(attribute, value) : undefined;
    case 'MultiSelectPicklist':
      return Array.isArray(value) ? value.map((item) => optionLabel(attribute, item) ?? String(item)).join('; ') : undefined;
    case 'Boolean':
      return value === true ? attribute.booleanLabels?.trueLabel : attribute.booleanLabels?.falseLabel;
    case 'Money': {
      if (typeof value !== 'number') return undefined;
      const digits = attribute.precision ?? 2;
      const amount = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(Math.abs(value));
      return `${value < 0 ? '-' : ''}${context.currencySymbol}${amount}`;
    }
    case 'Decimal':
    case 'Double':
      return typeof value === 'number'
        ? new Intl.NumberFormat('en-US', { minimumFractionDigits: attribute.precision ?? 2, maximumFractionDigits: attribute.precision ?? 2 }).format(value)
        : undefined;
    case 'Integer':
    case 'BigInt':
      return typeof value === 'number' ? US_NUMBER.format(value) : undefined;
    case 'DateTime':
      return typeof value === 'string' ? formatDate(value, attribute.format === 'DateOnly') : undefined;
    default:
      return undefined;
  }
}
