import type { DataServices } from '../data/data-services.ts';
import { isEntityReference, type StoredValue } from '../data/record.ts';
import { keyValuesEqual } from '../data/record-locator.ts';
import { badRequest, DataverseError, duplicateRecord, ErrorCode, segmentNotFound } from '../errors.ts';
import type { AttributeDefinition } from '../metadata/attribute-model.ts';
import { attributeFromRequest, parseAttributeRequest } from '../metadata/attribute-request.ts';
import { assertCustomizationPrefix } from '../metadata/customization-prefix.ts';
import type { EntityDefinition, KeyDefinition } from '../metadata/entity-model.ts';
import { entityFromRequest } from '../metadata/entity-request.ts';
import { keyFromRequest } from '../metadata/key-request.ts';
import { intersectEntity, manyToManyFromRequest, relationshipWire } from '../metadata/relationship-request.ts';
import { labelText } from '../metadata/labels.ts';
import { attributeWire, entityWire, keyWire, kindOfMetadataType } from '../metadata/metadata-wire.ts';
import { compileFilter, type PropertyResolver } from '../odata/filter-compiler.ts';
import { parseQueryOptions, type ExpandOption, type QueryOptions } from '../odata/query-options.ts';
import { parseKeyPredicate, type PathSegment } from '../odata/resource-path.ts';
import { emptyResponse, jsonResponse, methodNotAllowed, type DataRequest, type DataResponse } from './data-request.ts';
import { contextUrl } from './response-helpers.ts';

type Json = Record<string, unknown>;

/** Metadata rows are plain JSON: any property path resolves, untyped, so `$filter` works on whatever a type carries. */
const jsonResolver: PropertyResolver<Json> = {
  resolve: (path) => ({
    type: 'any',
    get: (row) => path.reduce<unknown>((value, segment) => (typeof value === 'object' && value !== null ? (value as Json)[segment] : undefined), row),
  }),
};

function project(row: Json, select: string[] | undefined): Json {
  if (!select) return row;
  const projected: Json = {};
  for (const [key, value] of Object.entries(row)) {
    if (key === '@odata.type' || key === 'MetadataId' || select.includes(key)) projected[key] = value;
  }
  return projected;
}

function applyOptions(rows: Json[], options: QueryOptions): Json[] {
  const predicate = options.filter ? compileFilter(options.filter, jsonResolver) : () => true;
  return rows.filter(predicate).map((row) => project(row, options.select));
}

function wantsOptionSet(expand: ExpandOption[]): boolean {
  return expand.some((option) => option.navigationProperty === 'OptionSet' || option.navigationProperty === 'GlobalOptionSet');
}

function keyValue(segment: PathSegment, property: string): { kind: 'id'; id: string } | { kind: 'name'; name: string } {
  const predicate = parseKeyPredicate(segment.key ?? '');
  if (predicate.kind === 'id') return predicate;
  const value = predicate.values.get(property);
  if (typeof value !== 'string' || predicate.values.size !== 1) throw badRequest(`Address ${segment.name} by MetadataId or ${property}='…'.`);
  return { kind: 'name', name: value.toLowerCase() };
}

/**
 * `EntityDefinitions` and its `Attributes` and `Keys` ("Create and update column definitions using the Web API", "Work
 * with alternate keys"): read, create columns and keys, publish-free.
 */
export class MetadataHandlers {
  constructor(private readonly services: DataServices) {}

  handle(request: DataRequest, segments: PathSegment[]): DataResponse {
    const [root, child, third] = segments;
    if (!root) throw segmentNotFound('EntityDefinitions');
    if (root.key === undefined) {
      if (child) throw segmentNotFound(child.name);
      if (request.method === 'POST') return this.createEntity(request);
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      return this.listEntities(request);
    }
    const entity = this.entity(root);
    if (!child) {
      if (request.method === 'GET') return this.getEntity(request, entity);
      if (request.method === 'PUT' || request.method === 'PATCH') return this.updateEntity(entity, request.body);
      throw methodNotAllowed(request.method);
    }
    if (child.name === 'Attributes') return this.attributes(request, entity, child, third);
    if (child.name === 'Keys') return this.keys(request, entity, child);
    throw segmentNotFound(child.name);
  }

  private entity(segment: PathSegment): EntityDefinition {
    const key = keyValue(segment, 'LogicalName');
    const entity = key.kind === 'id' ? this.services.registry.entityByMetadataId(key.id) : this.services.registry.entity(key.name);
    if (!entity) throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `Could not find an entity with ${key.kind === 'id' ? `MetadataId ${key.id}` : `LogicalName '${key.name}'`}.`);
    return entity;
  }

  private entityJson(entity: EntityDefinition, options: QueryOptions): Json {
    const row = entityWire(entity);
    for (const expand of options.expand) {
      if (expand.navigationProperty === 'Attributes') {
        row.Attributes = [...entity.attributes.values()].map((attribute) => project(attributeWire(entity, attribute, wantsOptionSet(expand.expand)), expand.select));
      } else if (expand.navigationProperty === 'Keys') {
        row.Keys = entity.keys.map((key) => project(keyWire(entity, key), expand.select));
      } else {
        throw badRequest(`The navigation property '${expand.navigationProperty}' of EntityMetadata cannot be expanded by the sandbox.`);
      }
    }
    return row;
  }

  private listEntities(request: DataRequest): DataResponse {
    const options = parseQueryOptions(request.query);
    const rows = applyOptions(this.services.registry.all().map((entity) => this.entityJson(entity, options)), options);
    return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, 'EntityDefinitions'), value: rows });
  }

  private getEntity(request: DataRequest, entity: EntityDefinition): DataResponse {
    const options = parseQueryOptions(request.query);
    const row = project(this.entityJson(entity, options), options.select && [...options.select, ...options.expand.map((e) => e.navigationProperty)]);
    return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, 'EntityDefinitions/$entity'), ...row });
  }

  /**
   * A custom table ("Create and update table definitions using the Web API"): usable for data at once, like columns;
   * its schema name and its primary name column carry the publisher prefix.
   */
  private createEntity(request: DataRequest): DataResponse {
    const publisher = this.publisher(request);
    const body = request.body as { SchemaName?: unknown; Attributes?: unknown } | undefined;
    if (typeof body?.SchemaName === 'string') assertCustomizationPrefix(body.SchemaName, 'Entity', publisher.prefix);
    const entity = entityFromRequest(request.body, this.services.registry.allocateObjectTypeCode(), publisher.optionValuePrefix);
    const primaryName = entity.primaryNameAttribute ? entity.attributes.get(entity.primaryNameAttribute) : undefined;
    if (primaryName) assertCustomizationPrefix(primaryName.schemaName, 'Attribute', publisher.prefix);
    this.services.registry.addEntity(entity);
    return emptyResponse(204, { 'OData-EntityId': `${request.serviceRoot}EntityDefinitions(${entity.metadataId})` });
  }

  /**
   * `RelationshipDefinitions` ("Create and update table relationships using the Web API"): many-to-many relationships
   * are created (with their intersect table), read by MetadataId or `SchemaName='…'`, listed and deleted.
   */
  relationships(request: DataRequest, segments: PathSegment[]): DataResponse {
    const [root, cast, ...extra] = segments;
    if (!root) throw segmentNotFound('RelationshipDefinitions');
    if (extra[0]) throw segmentNotFound(extra[0].name);
    if (cast && cast.name !== 'Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata') throw segmentNotFound(cast.name);
    const registry = this.services.registry;
    if (root.key === undefined) {
      if (request.method === 'GET') {
        const options = parseQueryOptions(request.query);
        const rows = applyOptions(registry.allRelationships().map(relationshipWire), options);
        return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, 'RelationshipDefinitions'), value: rows });
      }
      if (request.method !== 'POST' || cast) throw methodNotAllowed(request.method);
      const relationship = manyToManyFromRequest(request.body, (name) => registry.entity(name));
      assertCustomizationPrefix(relationship.schemaName, 'Relationship', this.publisher(request).prefix);
      if (registry.relationship(relationship.schemaName)) {
        throw duplicateRecord(`A relationship with the specified name ${relationship.schemaName} already exists. Specify a unique name.`);
      }
      if (registry.entity(relationship.intersectEntityName)) {
        throw badRequest(`The intersect entity name ${relationship.intersectEntityName} is already used by another table.`);
      }
      registry.addRelationship(relationship);
      registry.addEntity(intersectEntity(relationship, registry.allocateObjectTypeCode()));
      return emptyResponse(204, { 'OData-EntityId': `${request.serviceRoot}RelationshipDefinitions(${relationship.metadataId})` });
    }
    const key = keyValue(root, 'SchemaName');
    const relationship = key.kind === 'id' ? registry.relationshipByMetadataId(key.id) : registry.relationship(key.name);
    if (!relationship) {
      throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `Could not find a relationship with ${key.kind === 'id' ? `MetadataId ${key.id}` : `SchemaName '${key.name}'`}.`);
    }
    if (request.method === 'GET') {
      const options = parseQueryOptions(request.query);
      return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, 'RelationshipDefinitions/$entity'), ...project(relationshipWire(relationship), options.select) });
    }
    throw methodNotAllowed(request.method);
  }

  /** Only `ChangeTrackingEnabled` is honoured (it can be switched on, never off, as on a real org). */
  private updateEntity(entity: EntityDefinition, body: unknown): DataResponse {
    const wanted = (body as { ChangeTrackingEnabled?: unknown } | undefined)?.ChangeTrackingEnabled;
    if (wanted === true) entity.changeTrackingEnabled = true;
    if (wanted === false && entity.changeTrackingEnabled) throw badRequest('Change tracking cannot be disabled once it is enabled.');
    return emptyResponse(204);
  }

  private attributes(request: DataRequest, entity: EntityDefinition, segment: PathSegment, cast: PathSegment | undefined): DataResponse {
    const castKind = cast ? kindOfMetadataType(cast.name) : undefined;
    if (cast && !castKind) throw segmentNotFound(cast.name);
    if (segment.key === undefined) {
      if (request.method === 'POST') return this.createAttribute(request, entity);
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      const options = parseQueryOptions(request.query);
      const selected = [...entity.attributes.values()].filter((attribute) => !castKind || attribute.kind === castKind);
      const rows = applyOptions(selected.map((attribute) => attributeWire(entity, attribute, wantsOptionSet(options.expand))), options);
      return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, `EntityDefinitions(${entity.metadataId})/Attributes`), value: rows });
    }
    const attribute = this.attribute(entity, segment);
    if (castKind && attribute.kind !== castKind) throw segmentNotFound(cast?.name ?? '');
    if (request.method === 'GET') {
      const options = parseQueryOptions(request.query);
      const row = project(attributeWire(entity, attribute, wantsOptionSet(options.expand)), options.select && [...options.select, 'OptionSet']);
      return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, `EntityDefinitions(${entity.metadataId})/Attributes/$entity`), ...row });
    }
    if (request.method === 'PUT') return this.updateAttribute(attribute, request.body);
    if (request.method === 'DELETE') return this.deleteAttribute(entity, attribute);
    throw methodNotAllowed(request.method);
  }

  private attribute(entity: EntityDefinition, segment: PathSegment): AttributeDefinition {
    const key = keyValue(segment, 'LogicalName');
    const attribute = key.kind === 'id' ? [...entity.attributes.values()].find((candidate) => candidate.metadataId === key.id) : entity.attributes.get(key.name);
    if (!attribute) throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `Could not find an attribute with ${key.kind === 'id' ? `MetadataId ${key.id}` : `LogicalName '${key.name}'`} on ${entity.logicalName}.`);
    return attribute;
  }

  /** The publisher behind `MSCRM.SolutionUniqueName`, or the default publisher (`new`, option prefix 10000). */
  private publisher(request: DataRequest): { prefix: string | undefined; optionValuePrefix: number } {
    const solutionName = request.headers['mscrm.solutionuniquename'];
    const store = this.services.store;
    const defaults = { prefix: undefined, optionValuePrefix: 10_000 };
    if (!solutionName) return defaults;
    const solution = store.all('solution').find((row) => keyValuesEqual(row.values.uniquename ?? null, solutionName));
    if (!solution) throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `The solution with unique name '${solutionName}' (MSCRM.SolutionUniqueName) does not exist.`);
    const publisherRef = solution.values.publisherid;
    const publisher = isEntityReference(publisherRef) ? store.get('publisher', publisherRef.id) : undefined;
    const prefix = publisher?.values.customizationprefix;
    const optionValuePrefix = publisher?.values.customizationoptionvalueprefix;
    return { prefix: typeof prefix === 'string' ? prefix : undefined, optionValuePrefix: typeof optionValuePrefix === 'number' ? optionValuePrefix : 10_000 };
  }

  /**
   * Columns are usable as soon as they exist; real Dataverse needs PublishXml only for forms and views ("Create and
   * update column definitions using the Web API").
   */
  private createAttribute(request: DataRequest, entity: EntityDefinition): DataResponse {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Json;
    const parsed = parseAttributeRequest(body);
    const publisher = this.publisher(request);
    assertCustomizationPrefix(parsed.SchemaName, 'Attribute', publisher.prefix);
    const attribute = attributeFromRequest(entity.logicalName, parsed, publisher.optionValuePrefix, body);
    this.services.registry.addAttribute(entity, attribute);
    return emptyResponse(204, { 'OData-EntityId': `${request.serviceRoot}EntityDefinitions(LogicalName='${entity.logicalName}')/Attributes(${attribute.metadataId})` });
  }

  private updateAttribute(attribute: AttributeDefinition, body: unknown): DataResponse {
    if (typeof body !== 'object' || body === null) throw badRequest('The attribute definition must be a JSON object.');
    const update = body as { DisplayName?: unknown; Description?: unknown; RequiredLevel?: { Value?: unknown }; MaxLength?: unknown };
    const displayName = labelText(update.DisplayName);
    if (displayName !== undefined) attribute.displayName = displayName;
    const description = labelText(update.Description);
    if (description !== undefined) attribute.description = description;
    const level = update.RequiredLevel?.Value;
    if (level === 'None' || level === 'Recommended' || level === 'ApplicationRequired') attribute.requiredLevel = level;
    if (typeof update.MaxLength === 'number' && (attribute.kind === 'String' || attribute.kind === 'Memo')) attribute.maxLength = update.MaxLength;
    return emptyResponse(204);
  }

  private deleteAttribute(entity: EntityDefinition, attribute: AttributeDefinition): DataResponse {
    if (!attribute.isCustom) throw badRequest(`The attribute ${attribute.logicalName} is a system attribute and cannot be deleted.`);
    const key = entity.keys.find((candidate) => candidate.keyAttributes.includes(attribute.logicalName));
    if (key) throw badRequest(`The attribute ${attribute.logicalName} cannot be deleted because the entity key ${key.schemaName} depends on it.`);
    entity.attributes.delete(attribute.logicalName);
    const { store } = this.services;
    for (const row of store.all(entity.logicalName)) {
      const { [attribute.logicalName]: _dropped, ...rest } = row.values;
      store.replaceValues(row, rest);
    }
    return emptyResponse(204);
  }

  private keys(request: DataRequest, entity: EntityDefinition, segment: PathSegment): DataResponse {
    if (segment.key === undefined) {
      if (request.method === 'GET') {
        const options = parseQueryOptions(request.query);
        const rows = applyOptions(entity.keys.map((key) => keyWire(entity, key)), options);
        return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, `EntityDefinitions(${entity.metadataId})/Keys`), value: rows });
      }
      if (request.method === 'POST') return this.createKey(request, entity);
      throw methodNotAllowed(request.method);
    }
    const name = keyValue(segment, 'LogicalName');
    const key = entity.keys.find((candidate) => (name.kind === 'id' ? candidate.metadataId === name.id : candidate.logicalName === name.name));
    if (!key) throw new DataverseError(404, ErrorCode.ObjectDoesNotExist, `Could not find the entity key ${segment.key ?? ''} on ${entity.logicalName}.`);
    if (request.method === 'GET') return jsonResponse(200, { '@odata.context': contextUrl(request.serviceRoot, `EntityDefinitions(${entity.metadataId})/Keys/$entity`), ...keyWire(entity, key) });
    if (request.method === 'DELETE') {
      entity.keys = entity.keys.filter((candidate) => candidate !== key);
      return emptyResponse(204);
    }
    throw methodNotAllowed(request.method);
  }

  /**
   * The real index builds asynchronously (Pending → Active, "Work with alternate keys"); the sandbox builds it at once.
   * Existing duplicate values make the build fail, as they do on a real org: the key is kept with status Failed and is
   * not usable.
   */
  private createKey(request: DataRequest, entity: EntityDefinition): DataResponse {
    const key: KeyDefinition = keyFromRequest(entity, request.body);
    assertCustomizationPrefix(key.schemaName, 'EntityKey', this.publisher(request).prefix);
    const seen: StoredValue[][] = [];
    for (const row of this.services.store.all(entity.logicalName)) {
      const values: StoredValue[] = key.keyAttributes.map((name) => row.values[name] ?? null);
      if (values.some((value) => value === null)) continue;
      if (seen.some((other) => other.every((value, index) => keyValuesEqual(value, values[index])))) {
        key.status = 'Failed';
        break;
      }
      seen.push(values);
    }
    this.services.registry.addKey(entity, key);
    return emptyResponse(204, { 'OData-EntityId': `${request.serviceRoot}EntityDefinitions(${entity.metadataId})/Keys(${key.metadataId})` });
  }
}
