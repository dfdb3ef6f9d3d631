import type { DataServices } from '../data/data-services.ts';
import { isEntityReference, type StoredRecord } from '../data/record.ts';
import { etagOf } from '../data/record-wire.ts';
import { toWireValue } from '../data/value-codec.ts';
import { notSupported, unknownProperty } from '../errors.ts';
import { lookupValueProperty } from '../metadata/attribute-model.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import { parseQueryOptions } from '../odata/query-options.ts';
import { emptyResponse, jsonResponse, type DataRequest, type DataResponse } from './data-request.ts';
import { contextUrl, preferenceApplied, preferencesOf, selectFragment } from './response-helpers.ts';

function matchesAnyEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').map((item) => item.trim()).some((item) => item === '*' || item === etag);
}

/** GET of one row, one of its columns, or the row behind one of its lookups. */
export class RecordReader {
  constructor(private readonly services: DataServices) {}

  record(request: DataRequest, entity: EntityDefinition, record: StoredRecord): DataResponse {
    const options = parseQueryOptions(request.query);
    const preferences = preferencesOf(request);
    this.services.renderer.resolveSelect(entity, options.select);
    this.services.renderer.validateExpand(entity, options.expand);
    const etag = etagOf(record);
    // Conditional GET ("Perform conditional operations using the Web API"): not honoured with $expand or annotations,
    // where the ETag does not cover the whole payload.
    const conditional = options.expand.length === 0 && !preferences.annotations.any;
    if (conditional && matchesAnyEtag(request.headers['if-none-match'], etag)) return emptyResponse(304, { ETag: etag });
    const body = {
      '@odata.context': contextUrl(request.serviceRoot, `${entity.entitySetName}${selectFragment(options.select)}/$entity`),
      ...this.services.renderer.render(entity, record, { select: options.select, expand: options.expand, annotations: preferences.annotations }),
    };
    return jsonResponse(200, body, { ETag: etag, ...preferenceApplied(preferences.applied) });
  }

  /** `GET opportunities(<id>)/name` → `{ value }`; a navigation property returns the related row. */
  property(request: DataRequest, entity: EntityDefinition, record: StoredRecord, property: string, rawValue: boolean): DataResponse {
    const registry = this.services.registry;
    const navigation = registry.navigationProperty(entity, property);
    if (navigation) {
      if (rawValue) throw notSupported('$value is not available for navigation properties.', 400);
      const reference = record.values[navigation.attribute.logicalName];
      const target = registry.requireEntity(navigation.target.entity);
      const related = isEntityReference(reference) && reference.logicalName === target.logicalName ? this.services.store.get(target.logicalName, reference.id) : undefined;
      if (!related) return emptyResponse(204);
      return this.record(request, target, related);
    }
    const lookup = registry.lookupByValueProperty(entity, property);
    const attribute = lookup ?? entity.attributes.get(property);
    if (!attribute || !attribute.validForRead) throw unknownProperty(property, entity.logicalName);
    const stored = record.values[attribute.logicalName];
    const value = attribute.isPrimaryId ? record.id : lookup ? (isEntityReference(stored) ? stored.id : null) : toWireValue(attribute, stored);
    if (rawValue) {
      if (value === null) return emptyResponse(204);
      return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'OData-Version': '4.0' }, body: String(value) };
    }
    const name = lookup ? lookupValueProperty(attribute.logicalName) : attribute.logicalName;
    return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, `${entity.entitySetName}(${record.id})/${name}`), value });
  }
}
