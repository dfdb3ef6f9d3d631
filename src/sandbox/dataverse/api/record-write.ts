import type { DataServices } from '../data/data-services.ts';
import type { StoredRecord } from '../data/record.ts';
import type { WriteInput } from '../data/record-input.ts';
import { resolveBindReference } from '../data/bind-reference.ts';
import type { WriteContext } from '../data/record-service.ts';
import { etagOf } from '../data/record-wire.ts';
import { badRequest, duplicateRecord, recordNotFound, recordNotFoundByKey, unknownProperty, versionMismatch } from '../errors.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import { parseQueryOptions } from '../odata/query-options.ts';
import { parseKeyPredicate } from '../odata/resource-path.ts';
import type { EventCollector } from '../webhooks/events.ts';
import { emptyResponse, jsonResponse, type DataRequest, type DataResponse } from './data-request.ts';
import { contextUrl, entityIdHeaders, preferenceApplied, preferencesOf, selectFragment } from './response-helpers.ts';

function etagMatches(header: string, record: StoredRecord): boolean {
  const etag = etagOf(record);
  return header.split(',').map((item) => item.trim()).some((item) => item === '*' || item === etag);
}

/**
 * `If-None-Match: null` is what the docs tell every client to send ("Compose HTTP requests and handle errors"); it
 * means "no condition".
 */
function conditionHeader(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' || value.trim() === 'null' ? undefined : value.trim();
}

/** POST, PATCH (update and upsert), DELETE of rows and single columns, and single-valued `$ref`. */
export class RecordWriter {
  constructor(private readonly services: DataServices) {}

  private context(request: DataRequest, events: EventCollector): WriteContext {
    const tag = request.query.get('tag');
    return {
      caller: request.caller,
      events,
      correlationId: request.correlationId,
      ...(request.contentIds ? { contentIds: request.contentIds } : {}),
      ...(tag !== undefined ? { tag } : {}),
    };
  }

  private respond(request: DataRequest, entity: EntityDefinition, record: StoredRecord, created: boolean): DataResponse {
    const preferences = preferencesOf(request);
    if (!preferences.prefer.returnRepresentation) return emptyResponse(204, entityIdHeaders(request.serviceRoot, entity, record.id));
    const options = parseQueryOptions(request.query);
    preferences.applied.push('return=representation');
    const body = {
      '@odata.context': contextUrl(request.serviceRoot, `${entity.entitySetName}${selectFragment(options.select)}/$entity`),
      ...this.services.renderer.render(entity, record, { select: options.select, expand: options.expand, annotations: preferences.annotations }),
    };
    return jsonResponse(created ? 201 : 200, body, { ETag: etagOf(record), ...preferenceApplied(preferences.applied) });
  }

  create(request: DataRequest, entity: EntityDefinition, events: EventCollector): DataResponse {
    const options = parseQueryOptions(request.query);
    this.services.renderer.resolveSelect(entity, options.select);
    const input = this.services.inputs.parse(entity, request.body, request.contentIds);
    const record = this.services.records.create(entity, input, this.context(request, events));
    return this.respond(request, entity, record, true);
  }

  /**
   * PATCH by key: update with `If-Match`, create-only with `If-None-Match: *`, otherwise upsert ("Use Upsert to Create
   * or Update a record").
   */
  patch(request: DataRequest, entity: EntityDefinition, keyText: string, events: EventCollector): DataResponse {
    const ifMatch = conditionHeader(request.headers['if-match']);
    const ifNoneMatch = conditionHeader(request.headers['if-none-match']);
    if (ifMatch && ifNoneMatch) throw badRequest('If-Match and If-None-Match cannot be combined on one request.');
    const key = this.services.locator.resolveKey(entity, parseKeyPredicate(keyText));
    const existing = this.services.locator.find(entity, key);
    const input = this.services.inputs.parse(entity, request.body, request.contentIds);
    const context = this.context(request, events);
    if (existing) {
      if (ifNoneMatch === '*') throw duplicateRecord();
      if (ifMatch && !etagMatches(ifMatch, existing)) throw versionMismatch();
      // Key values in the body are stripped on update ("Use Upsert to Create or Update a record"): the URL already
      // names the row.
      const values = { ...input.values };
      if (key.kind === 'alternate') for (const name of key.key.keyAttributes) delete values[name];
      const updated = this.services.records.update(entity, existing, { ...input, values, sent: input.sent.filter((name) => name in values) }, context);
      return this.respond(request, entity, updated, false);
    }
    if (ifMatch) throw key.kind === 'id' ? recordNotFound(entity.logicalName, key.id) : recordNotFoundByKey(entity.logicalName, key.text);
    // Create branch of an upsert: key values are copied from the URL into the new row ("Use Upsert to Create or Update
    // a record").
    const createInput: WriteInput = key.kind === 'alternate' ? { ...input, values: { ...input.values, ...key.values }, sent: [...new Set([...input.sent, ...Object.keys(key.values)])] } : input;
    const created = this.services.records.create(entity, createInput, context, key.kind === 'id' ? key.id : undefined);
    return this.respond(request, entity, created, true);
  }

  remove(request: DataRequest, entity: EntityDefinition, keyText: string, events: EventCollector): DataResponse {
    const key = this.services.locator.resolveKey(entity, parseKeyPredicate(keyText));
    const existing = this.services.locator.find(entity, key);
    if (!existing) throw key.kind === 'id' ? recordNotFound(entity.logicalName, key.id) : recordNotFoundByKey(entity.logicalName, key.text);
    const ifMatch = conditionHeader(request.headers['if-match']);
    if (ifMatch && !etagMatches(ifMatch, existing)) throw versionMismatch();
    this.services.records.delete(entity, existing, this.context(request, events));
    return emptyResponse(204);
  }

  /**
   * `PUT …/name {"value": …}` sets one column; `DELETE …/name` clears it ("Update and delete table rows using the Web
   * API").
   */
  writeProperty(request: DataRequest, entity: EntityDefinition, record: StoredRecord, property: string, events: EventCollector): DataResponse {
    const attribute = entity.attributes.get(property);
    if (!attribute || attribute.isPrimaryId) throw unknownProperty(property, entity.logicalName);
    let value: unknown = null;
    if (request.method === 'PUT') {
      const body = request.body;
      if (typeof body !== 'object' || body === null || !('value' in body)) throw badRequest(`A PUT to a single column needs a body like {"value": …}.`);
      value = (body as { value: unknown }).value;
    }
    const input = this.services.inputs.parse(entity, { [property]: value }, request.contentIds);
    this.services.records.update(entity, record, input, this.context(request, events));
    return emptyResponse(204);
  }

  /** `PUT …/parentaccountid/$ref {"@odata.id": …}` and `DELETE …/parentaccountid/$ref` for single-valued lookups. */
  writeReference(request: DataRequest, entity: EntityDefinition, record: StoredRecord, navigationName: string, events: EventCollector): DataResponse {
    const navigation = this.services.registry.navigationProperty(entity, navigationName);
    if (!navigation) throw unknownProperty(navigationName, entity.logicalName);
    let body: Record<string, unknown> = { [`${navigationName}@odata.bind`]: null };
    if (request.method === 'PUT' || request.method === 'POST') {
      const reference = (request.body as { '@odata.id'?: unknown } | undefined)?.['@odata.id'];
      if (typeof reference !== 'string') throw badRequest('A $ref request needs a body like {"@odata.id": "<entity set>(<id>)"}.');
      const target = resolveBindReference(this.services.registry, this.services.locator, reference, request.contentIds);
      body = { [`${this.navigationFor(navigation.attribute.targets ?? [], target.entity.logicalName) ?? navigationName}@odata.bind`]: `/${target.entity.entitySetName}(${target.record.id})` };
    }
    const input = this.services.inputs.parse(entity, body, request.contentIds);
    this.services.records.update(entity, record, input, this.context(request, events));
    return emptyResponse(204);
  }

  private navigationFor(targets: Array<{ entity: string; navigationProperty: string }>, entity: string): string | undefined {
    return targets.find((target) => target.entity === entity)?.navigationProperty;
  }
}
