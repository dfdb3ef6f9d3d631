import { resolveBindReference } from '../data/bind-reference.ts';
import type { DataServices } from '../data/data-services.ts';
import type { StoredRecord } from '../data/record.ts';
import { badRequest, segmentNotFound } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { CollectionNavigation } from '../metadata/relationship-model.ts';
import { parseQueryOptions } from '../odata/query-options.ts';
import { parseKeyPredicate, type PathSegment } from '../odata/resource-path.ts';
import type { EventCollector } from '../webhooks/events.ts';
import { emptyResponse, jsonResponse, methodNotAllowed, type DataRequest, type DataResponse } from './data-request.ts';
import { contextUrl, preferenceApplied, preferencesOf, selectFragment } from './response-helpers.ts';

/**
 * A row's collection-valued navigation property of an N:N relationship ("Associate and disassociate table rows using
 * the Web API"): `GET opportunities(<id>)/<nav>` lists the related rows, `POST …/<nav>/$ref {"@odata.id": …}`
 * associates one, `DELETE …/<nav>(<relatedid>)/$ref` (or `…/<nav>/$ref?$id=<url>`) disassociates it.
 */
export class RelatedRows {
  constructor(private readonly services: DataServices) {}

  handle(
    request: DataRequest,
    entity: EntityDefinition,
    record: StoredRecord,
    navigation: CollectionNavigation,
    property: PathSegment,
    modifier: PathSegment | undefined,
    _events: EventCollector,
  ): DataResponse {
    if (modifier && modifier.name !== '$ref') throw segmentNotFound(modifier.name);
    if (!modifier) {
      if (request.method !== 'GET' || property.key !== undefined) throw methodNotAllowed(request.method);
      return this.list(request, record, navigation);
    }
    if (entity.readOnly) throw badRequest(`Rows of ${entity.logicalName} cannot be associated.`);
    if (request.method === 'POST') {
      if (property.key !== undefined) throw badRequest('Associate with a POST to the navigation property itself: …/<navigation>/$ref.');
      const reference = (request.body as { '@odata.id'?: unknown } | undefined)?.['@odata.id'];
      if (typeof reference !== 'string') throw badRequest('A $ref request needs a body like {"@odata.id": "<entity set>(<id>)"}.');
      const target = resolveBindReference(this.services.registry, this.services.locator, reference, request.contentIds);
      if (target.entity.logicalName !== navigation.target) {
        throw badRequest(`The navigation property '${property.name}' relates ${entity.logicalName} to ${navigation.target}, not to ${target.entity.logicalName}.`);
      }
      this.services.associations.associate(navigation, record, target.record);
      return emptyResponse(204);
    }
    if (request.method === 'DELETE') {
      const targetId = property.key !== undefined ? this.relatedId(property.key, navigation) : this.idFromQuery(request, navigation);
      this.services.associations.disassociate(navigation, record, targetId);
      return emptyResponse(204);
    }
    throw methodNotAllowed(request.method);
  }

  private list(request: DataRequest, record: StoredRecord, navigation: CollectionNavigation): DataResponse {
    const target = this.services.registry.requireEntity(navigation.target);
    const options = parseQueryOptions(request.query);
    const preferences = preferencesOf(request);
    this.services.renderer.resolveSelect(target, options.select);
    const rows = this.services.associations
      .related(navigation, record)
      .map((row) => this.services.renderer.render(target, row, { select: options.select, expand: [], annotations: preferences.annotations }));
    return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, `${target.entitySetName}${selectFragment(options.select)}`), value: rows }, preferenceApplied(preferences.applied));
  }

  private relatedId(keyText: string, navigation: CollectionNavigation): string {
    const target = this.services.registry.requireEntity(navigation.target);
    const key = this.services.locator.resolveKey(target, parseKeyPredicate(keyText));
    if (key.kind === 'id') return key.id;
    return this.services.locator.find(target, key)?.id ?? key.text;
  }

  private idFromQuery(request: DataRequest, navigation: CollectionNavigation): string {
    const reference = request.query.get('$id');
    if (!reference) throw badRequest('Disassociate names the related row: …/<navigation>(<id>)/$ref or …/<navigation>/$ref?$id=<url>.');
    const target = resolveBindReference(this.services.registry, this.services.locator, reference, request.contentIds);
    if (target.entity.logicalName !== navigation.target) throw badRequest(`The row ${reference} is not a ${navigation.target}.`);
    return target.record.id;
  }
}
