import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth/users.ts';
import { badRequest, duplicateRecord, ErrorCode, DataverseError, recordNotFound } from '../errors.ts';
import { isLookup } from '../metadata/attribute-model.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import type { DataEvent, EventCollector, EventMessage } from '../webhooks/events.ts';
import type { Associations } from './associations.ts';
import type { ContentIdMap } from './bind-reference.ts';
import { BASE_CURRENCY_ID } from './catalog-ids.ts';
import { deriveConnectionColumns, reciprocalValues } from './connection-rules.ts';
import { isEntityReference, nowIso, type RecordValues, type StoredRecord } from './record.ts';
import type { WriteInput } from './record-input.ts';
import type { RecordLocator } from './record-locator.ts';
import type { RecordStore } from './record-store.ts';
import { hasState, initialState, isClosedOpportunity, resolveState } from './state-rules.ts';

export interface WriteContext {
  caller: Caller;
  events: EventCollector;
  correlationId: string;
  contentIds?: ContentIdMap;
  /** The request's optional `tag` query parameter ("Use optional parameters"). */
  tag?: string;
  /** Seeding and internal writes may touch read-only catalogue tables and set any column. */
  system?: boolean;
  /** Set while the platform writes a connection's reciprocal row, so the mirror does not mirror itself back. */
  connectionMirror?: boolean;
}

const CLOSED_OPPORTUNITY_MESSAGE =
  'The opportunity is closed (won or lost) and is read-only. Reopen it by setting statecode to 0 (Open) before changing other columns.';

function userReference(id: string) {
  return { id, logicalName: 'systemuser' };
}

/** First + last name, as the platform computes `fullname` for contacts, leads and users. */
function computedFullName(values: RecordValues): string | null {
  const parts = [values.firstname, values.lastname].filter((part): part is string => typeof part === 'string' && part !== '');
  return parts.length > 0 ? parts.join(' ') : null;
}

/** Create, update and delete with the platform's rules; every change is stamped, versioned and announced as an event. */
export class RecordService {
  constructor(
    private readonly registry: MetadataRegistry,
    private readonly store: RecordStore,
    private readonly locator: RecordLocator,
    private readonly associations: Associations,
  ) {}

  private assertWritable(entity: EntityDefinition, operation: string, context: WriteContext): void {
    if (entity.readOnly && !context.system) {
      throw new DataverseError(403, ErrorCode.PrivilegeDenied, `The '${operation}' method does not support entities of type '${entity.logicalName}'.`);
    }
  }

  private stamp(entity: EntityDefinition, values: RecordValues, caller: Caller, creating: boolean): void {
    const now = nowIso();
    const delegate = caller.initiatingUserId !== caller.userId ? userReference(caller.initiatingUserId) : null;
    if (creating) {
      if (entity.attributes.has('createdon')) values.createdon = now;
      if (entity.attributes.has('createdby')) values.createdby = userReference(caller.userId);
      if (entity.attributes.has('createdonbehalfby')) values.createdonbehalfby = delegate;
    }
    if (entity.attributes.has('modifiedon')) values.modifiedon = now;
    if (entity.attributes.has('modifiedby')) values.modifiedby = userReference(caller.userId);
    if (entity.attributes.has('modifiedonbehalfby')) values.modifiedonbehalfby = delegate;
    if (entity.attributes.has('fullname') && (entity.attributes.has('firstname') || entity.attributes.has('lastname'))) {
      values.fullname = computedFullName(values);
    }
    values.versionnumber = this.store.nextVersion();
  }

  create(entity: EntityDefinition, input: WriteInput, context: WriteContext, fixedId?: string): StoredRecord {
    this.assertWritable(entity, 'Create', context);
    const id = (fixedId ?? input.id ?? randomUUID()).toLowerCase();
    if (this.store.get(entity.logicalName, id)) throw duplicateRecord('Cannot insert duplicate key.');
    if (!entity.stateValidForCreate && input.values.statecode !== undefined && !context.system) {
      throw badRequest(`statecode is not a valid attribute for the Create message of ${entity.logicalName}; create the row open and close it afterwards.`, ErrorCode.InvalidArgument);
    }
    const values: RecordValues = {};
    for (const attribute of entity.attributes.values()) {
      if (attribute.defaultValue !== undefined && !isLookup(attribute)) values[attribute.logicalName] = attribute.defaultValue;
    }
    Object.assign(values, input.values);
    const initial = initialState(entity);
    if (initial) Object.assign(values, resolveState(entity, initial, input.values));
    if (entity.ownershipType === 'UserOwned' && entity.attributes.has('ownerid') && !values.ownerid) values.ownerid = userReference(context.caller.userId);
    if (entity.attributes.has('transactioncurrencyid') && !values.transactioncurrencyid && entity.logicalName !== 'transactioncurrency') {
      values.transactioncurrencyid = { id: BASE_CURRENCY_ID, logicalName: 'transactioncurrency' };
      if (entity.attributes.has('exchangerate')) values.exchangerate = 1;
    }
    if (entity.logicalName === 'connection') {
      deriveConnectionColumns(this.registry, this.store, values);
      values.ismaster = context.connectionMirror !== true;
    }
    this.stamp(entity, values, context.caller, true);
    this.locator.assertKeysUnique(entity, id, values);
    const record = this.store.insert(entity.logicalName, id, values);
    this.announce('Create', entity, record, context, { target: { ...values }, sent: input.sent, postImage: { ...values } });
    if (entity.logicalName === 'connection' && context.connectionMirror !== true) return this.createReciprocal(entity, record, input, context);
    return record;
  }

  /**
   * The platform's reciprocal connection ("Connection entities"): created with the master, ends and roles swapped,
   * ismaster false, each pointing at the other through relatedconnectionid. Both creations are Create operations, so a
   * webhook step on Create of connection fires for each (UNCONFIRMED; tolerant: a subscriber filters on ismaster).
   */
  private createReciprocal(entity: EntityDefinition, master: StoredRecord, input: WriteInput, context: WriteContext): StoredRecord {
    const sent = [...new Set([...input.sent, 'record1id', 'record2id'])];
    const mirror = reciprocalValues(master.values, sent);
    const reciprocal = this.create(entity, { values: { ...mirror.values, ownerid: master.values.ownerid ?? null }, sent: mirror.sent }, { ...context, connectionMirror: true });
    this.store.replaceValues(reciprocal, { ...reciprocal.values, relatedconnectionid: { id: master.id, logicalName: 'connection' } });
    return this.store.replaceValues(master, { ...master.values, relatedconnectionid: { id: reciprocal.id, logicalName: 'connection' } });
  }

  /** The other half of a connection pair, if it is still there. */
  private relatedConnection(record: StoredRecord): StoredRecord | undefined {
    const related = record.values.relatedconnectionid;
    return isEntityReference(related) ? this.store.get('connection', related.id) : undefined;
  }

  update(entity: EntityDefinition, existing: StoredRecord, input: WriteInput, context: WriteContext, message: EventMessage = 'Update'): StoredRecord {
    this.assertWritable(entity, 'Update', context);
    if (input.id !== undefined && input.id !== existing.id) {
      throw badRequest(`The primary key in the body (${input.id}) does not match the record addressed by the URL (${existing.id}).`);
    }
    const reopening = input.values.statecode === 0 || (typeof input.values.statuscode === 'number' && input.values.statecode === undefined && isReopenStatus(entity, input.values.statuscode));
    if (isClosedOpportunity(entity, existing.values) && !reopening && !context.system) {
      throw badRequest(CLOSED_OPPORTUNITY_MESSAGE, ErrorCode.InvalidArgument);
    }
    const before = existing.values;
    const values: RecordValues = { ...before, ...input.values };
    if (hasState(entity)) {
      const current = { statecode: Number(before.statecode ?? 0), statuscode: Number(before.statuscode ?? 1) };
      Object.assign(values, resolveState(entity, current, input.values));
      // Closing by a plain PATCH of statecode is UNCONFIRMED for opportunities ("WinOpportunity Action"); allowed, with
      // the close stamps.
      if (entity.logicalName === 'opportunity' && current.statecode === 0 && values.statecode !== 0) applyCloseDefaults(values, values.statecode === 1);
      if (entity.logicalName === 'opportunity' && values.statecode === 0 && current.statecode !== 0) values.actualclosedate = input.values.actualclosedate ?? null;
    }
    if (entity.logicalName === 'connection') deriveConnectionColumns(this.registry, this.store, values);
    this.stamp(entity, values, context.caller, false);
    this.locator.assertKeysUnique(entity, existing.id, values);
    const updated = this.store.replaceValues(existing, values);
    const target: RecordValues = { [entity.primaryIdAttribute]: existing.id };
    for (const name of input.sent) target[name] = values[name] ?? null;
    for (const name of ['statecode', 'statuscode', 'actualclosedate', 'actualvalue']) {
      if (before[name] !== values[name] && entity.attributes.has(name)) target[name] = values[name] ?? null;
    }
    for (const name of ['modifiedon', 'modifiedby', 'modifiedonbehalfby']) if (entity.attributes.has(name)) target[name] = values[name] ?? null;
    this.announce(message, entity, updated, context, { target, sent: input.sent, preImage: { ...before }, postImage: { ...values } });
    const related = entity.logicalName === 'connection' && context.connectionMirror !== true ? this.relatedConnection(updated) : undefined;
    if (related) {
      const mirror = reciprocalValues(values, input.sent);
      if (mirror.sent.length > 0) this.update(entity, related, mirror, { ...context, connectionMirror: true });
    }
    return updated;
  }

  delete(entity: EntityDefinition, existing: StoredRecord, context: WriteContext): void {
    this.assertWritable(entity, 'Delete', context);
    if (!this.store.delete(entity.logicalName, existing.id)) throw recordNotFound(entity.logicalName, existing.id);
    this.associations.forget(entity, existing.id);
    this.announce('Delete', entity, existing, context, { target: {}, sent: [], preImage: { ...existing.values } });
    // A connection and its reciprocal go together ("Connection entities").
    const related = entity.logicalName === 'connection' ? this.relatedConnection(existing) : undefined;
    if (related) this.delete(entity, related, { ...context, connectionMirror: true });
    // Deleting a connected row deletes its connections (the connection relationships cascade on delete).
    if (entity.logicalName !== 'connection') {
      const connections = this.registry.requireEntity('connection');
      const touching = (row: StoredRecord): boolean => ['record1id', 'record2id'].some((side) => {
        const end = row.values[side];
        return isEntityReference(end) && end.id === existing.id && end.logicalName === entity.logicalName;
      });
      for (const row of this.store.all('connection').filter((candidate) => candidate.values.ismaster === true && touching(candidate))) {
        if (this.store.get('connection', row.id)) this.delete(connections, row, { ...context, system: true });
      }
    }
  }

  private announce(
    message: EventMessage,
    entity: EntityDefinition,
    record: StoredRecord,
    context: WriteContext,
    detail: { target: RecordValues; sent: string[]; preImage?: RecordValues; postImage?: RecordValues; extraInputs?: DataEvent['extraInputs'] },
  ): void {
    context.events.add({
      message,
      entity: entity.logicalName,
      id: record.id,
      target: detail.target,
      sentAttributes: detail.sent,
      ...(detail.preImage ? { preImage: detail.preImage } : {}),
      ...(detail.postImage ? { postImage: detail.postImage } : {}),
      ...(detail.extraInputs ? { extraInputs: detail.extraInputs } : {}),
      caller: context.caller,
      correlationId: context.correlationId,
      occurredAt: new Date(),
      ...(context.tag !== undefined ? { tag: context.tag } : {}),
    });
  }
}

function isReopenStatus(entity: EntityDefinition, statuscode: number): boolean {
  return entity.attributes.get('statuscode')?.options?.find((option) => option.value === statuscode)?.state === 0;
}

/**
 * What closing an opportunity stamps: the close date, and on a win the actual revenue (defaults to the estimate;
 * Dataverse opportunity table reference).
 */
export function applyCloseDefaults(values: RecordValues, won: boolean): void {
  if (values.actualclosedate === undefined || values.actualclosedate === null) values.actualclosedate = nowIso().slice(0, 10);
  if (won && (values.actualvalue === undefined || values.actualvalue === null)) values.actualvalue = values.estimatedvalue ?? null;
}
