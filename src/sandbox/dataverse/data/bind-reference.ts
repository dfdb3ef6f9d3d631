import { badRequest, DataverseError, ErrorCode } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import { parseKeyPredicate, parsePathSegments } from '../odata/resource-path.ts';
import type { StoredRecord } from './record.ts';
import type { RecordLocator } from './record-locator.ts';

/** Content-ID references of the current change set: `$1` → `opportunities(<guid>)`. */
export type ContentIdMap = Map<string, string>;

const SERVICE_ROOT = /^\/?api\/data\/v\d+(?:\.\d+)?(?:\/|$)/i;

/** Reduces an absolute URL, a service-root-relative path or a `$n` reference to `set(key)…`. */
export function relativeResourcePath(reference: string, contentIds: ContentIdMap | undefined): string {
  // dynamics-web-api prefixes a '/' to binds that do not start with its own service root, so an absolute URL to
  // another API version arrives as '/https://…'; the origin is dropped either way.
  let path = reference.trim().replace(/^\/?https?:\/\/[^/]+/i, '');
  path = path.replace(SERVICE_ROOT, '').replace(/^\//, '');
  const contentId = /^\$(\d+)(.*)$/.exec(path);
  if (contentId) {
    const resolved = contentIds?.get(`$${contentId[1] ?? ''}`);
    if (!resolved) throw badRequest(`Content-ID Reference: '$${contentId[1] ?? ''}' does not exist in the batch context.`);
    path = `${resolved}${contentId[2] ?? ''}`;
  }
  return path;
}

/** Resolves the value of an `@odata.bind` annotation to an existing row. */
export function resolveBindReference(
  registry: MetadataRegistry,
  locator: RecordLocator,
  reference: string,
  contentIds: ContentIdMap | undefined,
): { entity: EntityDefinition; record: StoredRecord } {
  const path = relativeResourcePath(reference, contentIds);
  const segments = parsePathSegments(path);
  const [segment] = segments;
  if (!segment || segments.length !== 1 || segment.key === undefined) {
    throw badRequest(`The @odata.bind value '${reference}' is not a valid entity reference; expected '/<entityset>(<id>)'.`);
  }
  const entity = registry.entityBySet(segment.name);
  if (!entity) throw badRequest(`The @odata.bind value '${reference}' names an unknown entity set '${segment.name}'.`);
  const key = locator.resolveKey(entity, parseKeyPredicate(segment.key));
  const record = locator.find(entity, key);
  if (!record) {
    // The platform answers a dangling lookup with ObjectDoesNotExist, as a 404, even on a create.
    throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `${entity.logicalName} With Id = ${key.kind === 'id' ? key.id : key.text} Does Not Exist`);
  }
  return { entity, record };
}
