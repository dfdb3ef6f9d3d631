import type { DataServices } from '../data/data-services.ts';
import { badRequest, DataverseError, ErrorCode, notSupported, recordNotFound, recordNotFoundByKey, segmentNotFound } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import { parseKeyPredicate, parsePathSegments, type PathSegment } from '../odata/resource-path.ts';
import type { EventCollector } from '../webhooks/events.ts';
import { ActionHandlers, boundActionName, isActionName } from './action-handlers.ts';
import { CollectionReader } from './collection-read.ts';
import { errorResponse, jsonResponse, methodNotAllowed, type DataRequest, type DataResponse } from './data-request.ts';
import { MetadataHandlers } from './metadata-handlers.ts';
import { RelatedRows } from './related-rows.ts';
import { RecordReader } from './record-read.ts';
import { RecordWriter } from './record-write.ts';

const QUALIFIED_PREFIX = 'Microsoft.Dynamics.CRM.';

/**
 * Routes one Web API request to its handler. Synchronous on purpose: a `$batch` change set runs its parts back to
 * back inside one store transaction, and nothing else can interleave.
 */
export class DataDispatcher {
  private readonly collection: CollectionReader;
  private readonly reader: RecordReader;
  private readonly writer: RecordWriter;
  private readonly metadata: MetadataHandlers;
  private readonly actions: ActionHandlers;
  private readonly relatedRows: RelatedRows;

  constructor(
    private readonly services: DataServices,
    private readonly onUnexpected: (error: unknown) => void = () => undefined,
  ) {
    this.collection = new CollectionReader(services);
    this.reader = new RecordReader(services);
    this.writer = new RecordWriter(services);
    this.metadata = new MetadataHandlers(services);
    this.actions = new ActionHandlers(services);
    this.relatedRows = new RelatedRows(services);
  }

  /** Never throws: failures become the documented error body ("Compose HTTP requests and handle errors"). */
  handle(request: DataRequest, events: EventCollector): DataResponse {
    try {
      return this.route(request, events);
    } catch (error) {
      if (error instanceof DataverseError) return errorResponse(error);
      this.onUnexpected(error);
      return errorResponse(new DataverseError(500, ErrorCode.UnexpectedError, 'An unexpected error occurred.'));
    }
  }

  private route(request: DataRequest, events: EventCollector): DataResponse {
    const segments = parsePathSegments(request.path);
    const [first, ...rest] = segments;
    if (!first) return this.serviceDocument(request);
    const name = first.name.startsWith(QUALIFIED_PREFIX) ? first.name.slice(QUALIFIED_PREFIX.length) : first.name;
    if (name === '$batch') throw badRequest('A $batch request cannot contain another $batch request.');
    if (name === '$metadata') throw notSupported('The CSDL $metadata document is not served by the Dataverse sandbox; use EntityDefinitions.');
    if (isActionName(name)) {
      if (rest.length > 0) throw segmentNotFound(rest[0]?.name ?? '');
      return this.actions.handle(name, request, events);
    }
    if (name === 'EntityDefinitions') return this.metadata.handle(request, segments);
    if (name === 'RelationshipDefinitions') return this.metadata.relationships(request, segments);
    const entity = this.services.registry.entityBySet(first.name);
    if (!entity) throw segmentNotFound(first.name);
    if (first.key === undefined) return this.entitySet(request, entity, rest, events);
    return this.entityByKey(request, entity, first.key, rest, events);
  }

  private serviceDocument(request: DataRequest): DataResponse {
    if (request.method !== 'GET') throw methodNotAllowed(request.method);
    const value = this.services.registry.all().map((entity) => ({ name: entity.entitySetName, kind: 'EntitySet', url: entity.entitySetName }));
    return jsonResponse(200, { '@odata.context': `${request.serviceRoot}$metadata`, value });
  }

  private entitySet(request: DataRequest, entity: EntityDefinition, rest: PathSegment[], events: EventCollector): DataResponse {
    const [next, ...more] = rest;
    if (next) {
      if (next.name !== '$count' || more.length > 0) throw segmentNotFound(next.name);
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
      return this.collection.count(request, entity);
    }
    if (request.method === 'GET') return this.collection.list(request, entity);
    if (request.method === 'POST') return this.writer.create(request, entity, events);
    throw methodNotAllowed(request.method);
  }

  private entityByKey(request: DataRequest, entity: EntityDefinition, keyText: string, rest: PathSegment[], events: EventCollector): DataResponse {
    const boundAction = rest.length === 1 && rest[0]?.key === undefined ? boundActionName(entity, rest[0]?.name ?? '') : undefined;
    if (boundAction) return this.actions.handleBound(boundAction, request, entity, keyText, events);
    if (rest.length === 0) {
      if (request.method === 'PATCH') return this.writer.patch(request, entity, keyText, events);
      if (request.method === 'DELETE') return this.writer.remove(request, entity, keyText, events);
      if (request.method !== 'GET') throw methodNotAllowed(request.method);
    }
    const key = this.services.locator.resolveKey(entity, parseKeyPredicate(keyText));
    const record = this.services.locator.find(entity, key);
    if (!record) throw key.kind === 'id' ? recordNotFound(entity.logicalName, key.id) : recordNotFoundByKey(entity.logicalName, key.text);
    const [property, modifier, ...extra] = rest;
    if (!property) return this.reader.record(request, entity, record);
    if (extra.length > 0) throw segmentNotFound(extra[0]?.name ?? '');
    const collection = this.services.registry.collectionNavigation(entity, property.name);
    if (collection) return this.relatedRows.handle(request, entity, record, collection, property, modifier, events);
    if (modifier?.name === '$ref') {
      if (request.method !== 'PUT' && request.method !== 'DELETE' && request.method !== 'POST') throw methodNotAllowed(request.method);
      return this.writer.writeReference(request, entity, record, property.name, events);
    }
    if (modifier && modifier.name !== '$value') throw segmentNotFound(modifier.name);
    if (request.method === 'GET') return this.reader.property(request, entity, record, property.name, modifier !== undefined);
    if (request.method === 'PUT' || request.method === 'DELETE') return this.writer.writeProperty(request, entity, record, property.name, events);
    throw methodNotAllowed(request.method);
  }
}
