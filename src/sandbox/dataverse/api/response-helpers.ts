import type { EntityDefinition } from '../metadata/entity-model.ts';
import { AnnotationFilter, parsePrefer, type Preferences } from '../odata/prefer.ts';
import type { DataRequest } from './data-request.ts';

export function contextUrl(serviceRoot: string, fragment: string): string {
  return `${serviceRoot}$metadata#${fragment}`;
}

export function selectFragment(select: string[] | undefined): string {
  return select && select.length > 0 ? `(${select.join(',')})` : '';
}

export function entityUrl(serviceRoot: string, entity: EntityDefinition, id: string): string {
  return `${serviceRoot}${entity.entitySetName}(${id})`;
}

/** Headers that announce a created or updated row: `OData-EntityId`, and `Location` as the real service sends too. */
export function entityIdHeaders(serviceRoot: string, entity: EntityDefinition, id: string): Record<string, string> {
  const url = entityUrl(serviceRoot, entity, id);
  return { 'OData-EntityId': url, Location: url };
}

export interface RequestPreferences {
  prefer: Preferences;
  annotations: AnnotationFilter;
  /** Values for `Preference-Applied`, filled in by the handler as it honours them. */
  applied: string[];
}

export function preferencesOf(request: DataRequest): RequestPreferences {
  const prefer = parsePrefer(request.headers.prefer);
  const applied: string[] = [];
  if (prefer.includeAnnotations) applied.push(`odata.include-annotations="${prefer.includeAnnotations}"`);
  return { prefer, annotations: new AnnotationFilter(prefer.includeAnnotations), applied };
}

export function preferenceApplied(applied: string[]): Record<string, string> {
  return applied.length > 0 ? { 'Preference-Applied': applied.join(',') } : {};
}
