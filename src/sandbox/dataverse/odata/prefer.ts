export interface Preferences {
  returnRepresentation: boolean;
  /** Raw annotation list from `odata.include-annotations`, e.g. `*` or `OData.Community.Display.V1.FormattedValue`. */
  includeAnnotations?: string;
  maxPageSize?: number;
  trackChanges: boolean;
  continueOnError: boolean;
}

/** Parses the `Prefer` header; several preferences may share one header, comma-separated (quotes respected). */
export function parsePrefer(header: string | undefined): Preferences {
  const preferences: Preferences = { returnRepresentation: false, trackChanges: false, continueOnError: false };
  if (!header) return preferences;
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of header) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      items.push(current);
      current = '';
    } else current += char;
  }
  items.push(current);
  for (const rawItem of items) {
    const item = rawItem.trim();
    const equals = item.indexOf('=');
    const name = (equals === -1 ? item : item.slice(0, equals)).trim().toLowerCase();
    const value = equals === -1 ? '' : item.slice(equals + 1).trim().replace(/^"|"$/g, '');
    if (name === 'return' && value.toLowerCase() === 'representation') preferences.returnRepresentation = true;
    else if (name === 'odata.include-annotations') preferences.includeAnnotations = value;
    else if (name === 'odata.maxpagesize' && /^\d+$/.test(value) && Number(value) > 0) preferences.maxPageSize = Number(value);
    else if (name === 'odata.track-changes') preferences.trackChanges = true;
    else if (name === 'odata.continue-on-error') preferences.continueOnError = true;
  }
  return preferences;
}

export const FORMATTED_VALUE = 'OData.Community.Display.V1.FormattedValue';
export const LOOKUP_LOGICAL_NAME = 'Microsoft.Dynamics.CRM.lookuplogicalname';
export const ASSOCIATED_NAVIGATION_PROPERTY = 'Microsoft.Dynamics.CRM.associatednavigationproperty';

/** Decides which instance annotations a response carries: `*`, exact names, or `Namespace.*` wildcards; `-x` excludes. */
export class AnnotationFilter {
  private readonly include: string[];
  private readonly exclude: string[];

  constructor(list: string | undefined) {
    const items = (list ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
    this.include = items.filter((item) => !item.startsWith('-'));
    this.exclude = items.filter((item) => item.startsWith('-')).map((item) => item.slice(1));
  }

  get any(): boolean {
    return this.include.length > 0;
  }

  private static matches(pattern: string, annotation: string): boolean {
    if (pattern === '*') return true;
    if (pattern.endsWith('*')) return annotation.toLowerCase().startsWith(pattern.slice(0, -1).toLowerCase());
    return pattern.toLowerCase() === annotation.toLowerCase();
  }

  wants(annotation: string): boolean {
    if (this.exclude.some((pattern) => AnnotationFilter.matches(pattern, annotation))) return false;
    return this.include.some((pattern) => AnnotationFilter.matches(pattern, annotation));
  }
}
