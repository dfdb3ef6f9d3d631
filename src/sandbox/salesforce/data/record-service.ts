import { isPlainObject } from '../../shared/deep-merge.ts';
import { badRequest, ErrorCode, noSuchColumn, resourceNotFound, SalesforceError } from '../errors.ts';
import { type IdGenerator, keyPrefixOf, toId18 } from '../ids.ts';
import type { FieldDefinition, FieldValue } from '../schema/field-model.ts';
import type { ObjectRegistry, SObjectType } from '../schema/object-model.ts';
import type { CurrencySettings } from '../schema/standard-objects.ts';
import { coerceFieldValue, uniquenessKey } from './field-input.ts';
import type { WriteContext } from './record-changes.ts';
import type { RecordStore, StoredRecord } from './record-store.ts';
import { forecastCategoryApiName, type StageCatalog } from './stages.ts';

type Values = Record<string, FieldValue>;

/** Fields the platform maintains; never compared for "what changed" (SystemModstamp moves on every save). */
const UNTRACKED = new Set(['SystemModstamp']);

export type UpsertOutcome =
  | { kind: 'created'; record: StoredRecord }
  | { kind: 'updated'; record: StoredRecord }
  | { kind: 'multiple'; ids: string[] };

interface ParsedInput {
  values: Values;
  /** Canonical names of the fields present in the body, for "was this sent?" decisions (Probability vs stage). */
  sent: Set<string>;
}

/**
 * Creates, updates, deletes and upserts rows with the platform's rules: field validation and coercion, required fields,
 * defaults, unique/external-id enforcement, stage-derived Opportunity fields, audit fields, and a change per write.
 */
export class RecordService {
  constructor(
    private readonly registry: ObjectRegistry,
    private readonly store: RecordStore,
    private readonly ids: IdGenerator,
    private readonly stages: StageCatalog,
    private readonly currency: CurrencySettings,
  ) {}

  /** The sObject named in a URL; unknown names are a 404 like the real API's. */
  requireType(name: string): SObjectType {
    const type = this.registry.get(name);
    if (!type) throw resourceNotFound();
    return type;
  }

  /** A record by 15/18-char id; undefined when the id is malformed, of another type, or unknown. */
  find(type: SObjectType, id: string): StoredRecord | undefined {
    const id18 = toId18(id);
    if (!id18 || keyPrefixOf(id18) !== type.keyPrefix) return undefined;
    return this.store.get(type.name, id18);
  }

  /** Lookup for a record addressed in a URL, with the platform's distinct answers for each way it can fail. */
  requireRecord(type: SObjectType, id: string, options: { allowDeleted?: boolean } = {}): StoredRecord {
    const id18 = toId18(id);
    if (!id18) {
      // Salesforce reads a non-id path segment as an external id field name it does not know.
      throw new SalesforceError(404, ErrorCode.NotFound, `Provided external ID field does not exist or is not accessible: ${id}`);
    }
    if (keyPrefixOf(id18) !== type.keyPrefix) throw badRequest(ErrorCode.MalformedId, `${type.label} ID: id value of incorrect type: ${id}`);
    const record = this.store.get(type.name, id18);
    if (!record) throw resourceNotFound();
    if (record.deletedAt !== null && !options.allowDeleted) throw new SalesforceError(404, ErrorCode.EntityIsDeleted, 'entity is deleted');
    return record;
  }

  /** Live records whose field equals the value the way the platform matches external ids (case-insensitive text). */
  findByField(type: SObjectType, definition: FieldDefinition, value: FieldValue): StoredRecord[] {
    const key = uniquenessKey(definition, value);
    if (key === undefined) return [];
    return this.store.candidates(type.name, definition.name, value).filter((row) => uniquenessKey(definition, row.values[definition.name] ?? null) === key);
  }

  create(type: SObjectType, body: unknown, ctx: WriteContext): StoredRecord {
    this.assertOperation(type, 'create');
    const input = this.parseInput(type, body, 'create');
    const teamMember = this.existingTeamMember(type, input.values);
    if (teamMember) return this.mergeTeamMember(type, teamMember, input, ctx);
    const now = Date.now();
    const id = this.ids.next(type.keyPrefix);
    const values: Values = {};
    for (const definition of type.fields) values[definition.name] = this.defaultFor(definition, ctx);
    Object.assign(values, input.values);
    Object.assign(values, { Id: id, IsDeleted: false, CreatedDate: now, CreatedById: ctx.userId, LastModifiedDate: now, LastModifiedById: ctx.userId, SystemModstamp: now });
    this.checkRequired(values, type.fields.filter((f) => f.required).map((f) => f.name));
    this.deriveFields(type, values, undefined, input.sent);
    this.checkUnique(type, values, id);
    const record: StoredRecord = { id, sobject: type.name, values, deletedAt: null, sequence: this.store.nextSequence() };
    this.store.put(record);
    const changedFields = type.fields.filter((f) => !f.system && values[f.name] !== null && values[f.name] !== undefined && f.name !== 'Id').map((f) => f.name);
    ctx.changes.add({ changeType: 'CREATE', sobject: type.name, recordId: id, before: undefined, after: record, changedFields, userId: ctx.userId, changeOrigin: ctx.changeOrigin, at: now });
    this.keepOnePrimaryContact(type, record, ctx);
    return record;
  }

  update(type: SObjectType, existing: StoredRecord, body: unknown, ctx: WriteContext): StoredRecord {
    this.assertOperation(type, 'update');
    if (existing.deletedAt !== null) throw new SalesforceError(404, ErrorCode.EntityIsDeleted, 'entity is deleted');
    assertNotConvertedLead(type, existing);
    const input = this.parseInput(type, body, 'update', existing.id);
    return this.applyUpdate(type, existing, input, ctx);
  }

  /**
   * An update the platform makes itself (lead conversion), so read-only fields may be set; the change is announced like
   * any update.
   */
  systemUpdate(type: SObjectType, existing: StoredRecord, values: Values, ctx: WriteContext): StoredRecord {
    return this.applyUpdate(type, existing, { values, sent: new Set(Object.keys(values)) }, ctx);
  }

  private applyUpdate(type: SObjectType, existing: StoredRecord, input: ParsedInput, ctx: WriteContext): StoredRecord {
    const now = Math.max(Date.now(), Number(existing.values.SystemModstamp ?? 0));
    const values: Values = { ...existing.values, ...input.values, LastModifiedDate: now, LastModifiedById: ctx.userId, SystemModstamp: now };
    this.checkRequired(values, [...input.sent].filter((name) => type.field(name)?.required === true));
    this.deriveFields(type, values, existing.values, input.sent);
    this.checkUnique(type, values, existing.id);
    const record: StoredRecord = { ...existing, values };
    this.store.put(record);
    ctx.changes.add({
      changeType: 'UPDATE',
      sobject: type.name,
      recordId: existing.id,
      before: existing,
      after: record,
      changedFields: this.diff(type, existing.values, values),
      userId: ctx.userId,
      changeOrigin: ctx.changeOrigin,
      at: now,
    });
    this.keepOnePrimaryContact(type, record, ctx);
    return record;
  }

  /**
   * "Each Opportunity has only one primary contact" (Object Reference "OpportunityContactRole"). Whether the API refuses
   * a second primary or demotes the first is UNCONFIRMED; the sandbox takes the tolerant path the Lightning UI shows:
   * the new primary wins and the previous one becomes non-primary, an update of its own (with its own change event).
   */
  private keepOnePrimaryContact(type: SObjectType, record: StoredRecord, ctx: WriteContext): void {
    if (type.name !== 'OpportunityContactRole' || record.values.IsPrimary !== true) return;
    const others = this.store
      .all(type.name)
      .filter((row) => row.id !== record.id && row.values.OpportunityId === record.values.OpportunityId && row.values.IsPrimary === true);
    for (const row of others) this.systemUpdate(type, row, { IsPrimary: false }, ctx);
  }

  /** A live OpportunityTeamMember for the same opportunity and user as a create body, if any. */
  private existingTeamMember(type: SObjectType, values: Readonly<Values>): StoredRecord | undefined {
    if (type.name !== 'OpportunityTeamMember') return undefined;
    return this.store.all(type.name).find((row) => row.values.OpportunityId === values.OpportunityId && row.values.UserId === values.UserId);
  }

  /**
   * Object Reference "OpportunityTeamMember": a create matching an existing OpportunityId + UserId "updates any modified
   * fields and returns the existing record" — no duplicate row and no error.
   */
  private mergeTeamMember(type: SObjectType, existing: StoredRecord, input: ParsedInput, ctx: WriteContext): StoredRecord {
    const values: Values = {};
    const sent = new Set<string>();
    for (const name of input.sent) {
      if (!type.field(name)?.updateable) continue;
      values[name] = input.values[name] ?? null;
      sent.add(name);
    }
    return this.applyUpdate(type, existing, { values, sent }, ctx);
  }

  /**
   * Moves the record to the recycle bin; deleting an account takes its contacts and opportunities with it, and deleting
   * a master record takes its detail rows (master-detail fields).
   */
  delete(type: SObjectType, existing: StoredRecord, ctx: WriteContext, cascaded = false): void {
    this.assertOperation(type, 'delete');
    if (existing.deletedAt !== null) throw new SalesforceError(404, ErrorCode.EntityIsDeleted, 'entity is deleted');
    for (const child of this.registry.all()) {
      for (const detail of child.fields.filter((candidate) => candidate.cascadeDelete && candidate.referenceTo.includes(type.name))) {
        for (const row of this.store.all(child.name).filter((candidate) => candidate.values[detail.name] === existing.id)) this.delete(child, row, ctx, true);
      }
    }
    if (type.name === 'Account') {
      for (const childType of ['Contact', 'Opportunity']) {
        const child = this.registry.get(childType);
        if (!child) continue;
        for (const row of this.store.all(childType).filter((r) => r.values.AccountId === existing.id)) this.delete(child, row, ctx, true);
      }
    }
    const now = Date.now();
    const values: Values = { ...existing.values, IsDeleted: true, LastModifiedDate: now, LastModifiedById: ctx.userId, SystemModstamp: now };
    // Object Reference "OpportunityTeamMember": a directly deleted member "isn't moved to the Recycle Bin and can't be
    // undeleted, unless the record was cascade-deleted when deleting a related Opportunity".
    const skipsRecycleBin = type.name === 'OpportunityTeamMember' && !cascaded;
    const record: StoredRecord = { ...existing, values, deletedAt: now, ...(skipsRecycleBin ? { outsideRecycleBin: true as const } : {}) };
    this.store.put(record);
    ctx.changes.add({ changeType: 'DELETE', sobject: type.name, recordId: existing.id, before: existing, after: record, changedFields: [], userId: ctx.userId, changeOrigin: ctx.changeOrigin, at: now });
  }

  undelete(type: SObjectType, existing: StoredRecord, ctx: WriteContext): StoredRecord {
    if (existing.deletedAt === null || existing.outsideRecycleBin) throw badRequest(ErrorCode.InvalidInput, 'Record is not in the recycle bin');
    const now = Date.now();
    const values: Values = { ...existing.values, IsDeleted: false, LastModifiedDate: now, LastModifiedById: ctx.userId, SystemModstamp: now };
    this.checkUnique(type, values, existing.id);
    const record: StoredRecord = { ...existing, values, deletedAt: null };
    this.store.put(record);
    const changedFields = type.fields.filter((f) => !f.system && values[f.name] !== null && f.name !== 'Id').map((f) => f.name);
    ctx.changes.add({ changeType: 'UNDELETE', sobject: type.name, recordId: existing.id, before: existing, after: record, changedFields, userId: ctx.userId, changeOrigin: ctx.changeOrigin, at: now });
    return record;
  }

  /**
   * `PATCH /sobjects/X/{field}/{value}` (REST API "sObject Rows by External ID"): create on no match, update on one,
   * report all on several.
   */
  upsert(type: SObjectType, fieldName: string, rawValue: string, body: unknown, ctx: WriteContext): UpsertOutcome {
    const definition = this.externalIdField(type, fieldName);
    if (definition.name === 'Id') {
      const existing = this.find(type, rawValue);
      if (!existing || existing.deletedAt !== null) throw resourceNotFound();
      return { kind: 'updated', record: this.update(type, existing, body, ctx) };
    }
    const value = coerceFieldValue(definition, rawValue);
    const bodyObject = this.withoutMatchingKey(definition, value, body);
    const matches = this.findByField(type, definition, value);
    if (matches.length > 1) return { kind: 'multiple', ids: matches.map((row) => row.id) };
    const match = matches[0];
    if (match) return { kind: 'updated', record: this.update(type, match, bodyObject, ctx) };
    return { kind: 'created', record: this.create(type, { ...bodyObject, [definition.name]: rawValue }, ctx) };
  }

  /** The field named in an upsert URL; it must be the Id or marked External ID / idLookup. */
  externalIdField(type: SObjectType, fieldName: string): FieldDefinition {
    const definition = type.field(fieldName);
    if (!definition || !(definition.externalId || definition.idLookup)) {
      throw new SalesforceError(404, ErrorCode.NotFound, `Provided external ID field does not exist or is not accessible: ${fieldName}`);
    }
    return definition;
  }

  /** The key may be repeated in the body when it agrees with the URL (tolerant); a different value is an error. */
  private withoutMatchingKey(definition: FieldDefinition, value: FieldValue, body: unknown): Record<string, unknown> {
    if (!isPlainObject(body)) return body as Record<string, unknown>;
    const rest: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(body)) {
      if (key.toLowerCase() !== definition.name.toLowerCase()) {
        rest[key] = raw;
        continue;
      }
      if (uniquenessKey(definition, coerceFieldValue(definition, raw)) !== uniquenessKey(definition, value)) {
        throw badRequest(ErrorCode.InvalidField, `The external ID field ${definition.name} in the request body does not match the value in the URL`, [definition.name]);
      }
    }
    return rest;
  }

  private assertOperation(type: SObjectType, operation: 'create' | 'update' | 'delete'): void {
    const allowed = operation === 'create' ? type.capabilities.createable : operation === 'update' ? type.capabilities.updateable : type.capabilities.deletable;
    const verb = operation === 'create' ? 'inserted' : operation === 'update' ? 'updated' : 'deleted';
    if (!allowed) throw badRequest(ErrorCode.InvalidTypeForOperation, `entity type cannot be ${verb}: ${type.label}`);
  }

  private parseInput(type: SObjectType, body: unknown, operation: 'create' | 'update', recordId?: string): ParsedInput {
    if (!isPlainObject(body)) {
      const token = Array.isArray(body) ? 'START_ARRAY' : 'VALUE_NULL';
      throw badRequest(ErrorCode.JsonParserError, `Cannot deserialize instance of ${type.name} from ${token} value or request may be missing a required field`);
    }
    const values: Values = {};
    const sent = new Set<string>();
    const notWritable: string[] = [];
    for (const [key, raw] of Object.entries(body)) {
      if (key === 'attributes') continue;
      const definition = type.field(key);
      if (!definition) {
        const relationship = type.relationship(key);
        if (relationship && isPlainObject(raw)) {
          values[relationship.name] = this.resolveForeignExternalId(relationship, raw);
          sent.add(relationship.name);
          continue;
        }
        throw noSuchColumn(key, type.name);
      }
      if (definition.name === 'Id') {
        if (operation === 'create') throw badRequest(ErrorCode.InvalidField, 'cannot specify Id in an insert call', ['Id']);
        // Sending the record's own Id back in an update is harmless; jsforce and many clients do it.
        if (raw !== null && toId18(String(raw)) !== recordId) throw badRequest(ErrorCode.InvalidField, 'The Id field should not be specified in the sobject data.', ['Id']);
        continue;
      }
      const writable = operation === 'create' ? definition.createable : definition.updateable;
      if (!writable) {
        notWritable.push(definition.name);
        continue;
      }
      const value = coerceFieldValue(definition, raw);
      values[definition.name] = definition.type === 'reference' ? this.checkReference(definition, value) : value;
      sent.add(definition.name);
    }
    if (notWritable.length > 0) {
      throw badRequest(
        ErrorCode.InvalidFieldForInsertUpdate,
        `Unable to create/update fields: ${notWritable.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        notWritable,
      );
    }
    return { values, sent };
  }

  /** A lookup must hold an existing record of the right type; OwnerId must be a user of the org. */
  private checkReference(definition: FieldDefinition, value: FieldValue): FieldValue {
    if (value === null) return null;
    const text = String(value);
    const id18 = toId18(text);
    if (!id18) throw badRequest(ErrorCode.MalformedId, `${definition.label}: id value of incorrect type: ${text}`, [definition.name]);
    const target = definition.referenceTo.map((name) => this.registry.get(name)).find((type) => type?.keyPrefix === keyPrefixOf(id18));
    if (!target) throw badRequest(ErrorCode.FieldIntegrityException, `${definition.label}: id value of incorrect type: ${text}`, [definition.name]);
    // Users are rows too (the two sandbox users and any seeded ones), so one lookup covers every target.
    const exists = this.store.get(target.name, id18)?.deletedAt === null;
    if (!exists) throw badRequest(ErrorCode.InvalidCrossReferenceKey, `invalid cross reference id`, [definition.name]);
    return id18;
  }

  /**
   * `"Account": { "Ext__c": "C-1" }` in a body sets AccountId to the account with that external id (REST API "sObject
   * Rows by External ID").
   */
  private resolveForeignExternalId(relationship: FieldDefinition, reference: Record<string, unknown>): string {
    const targetName = relationship.referenceTo[0] ?? '';
    const target = this.registry.get(targetName);
    const entries = Object.entries(reference).filter(([key]) => key !== 'attributes');
    const [fieldName, raw] = entries[0] ?? [];
    if (!target || entries.length !== 1 || fieldName === undefined) {
      throw badRequest(ErrorCode.InvalidField, `A foreign key reference must name exactly one external ID field of ${targetName}`, [relationship.name]);
    }
    const definition = this.externalIdField(target, fieldName);
    const matches = this.findByField(target, definition, coerceFieldValue(definition, raw));
    const match = matches[0];
    if (!match) throw badRequest(ErrorCode.InvalidField, `Foreign key external ID: ${String(raw)} not found for field ${definition.name} in entity ${target.name}`, [relationship.name]);
    if (matches.length > 1) throw badRequest(ErrorCode.InvalidField, `Foreign key external ID: ${String(raw)} matches more than one ${target.name}`, [relationship.name]);
    return match.id;
  }

  private defaultFor(definition: FieldDefinition, ctx: WriteContext): FieldValue {
    if (definition.name === 'OwnerId') return ctx.userId;
    if (definition.name === 'CurrencyIsoCode') return this.currency.corporateCurrency;
    if (definition.defaultValue !== null) return definition.defaultValue;
    if (definition.type === 'boolean') return false;
    if (definition.type === 'picklist' && definition.custom) return definition.picklistValues.find((entry) => entry.defaultValue)?.value ?? null;
    return null;
  }

  private checkRequired(values: Values, candidates: string[]): void {
    const missing = candidates.filter((name) => values[name] === null || values[name] === undefined);
    if (missing.length > 0) throw badRequest(ErrorCode.RequiredFieldMissing, `Required fields are missing: [${missing.join(', ')}]`, missing);
  }

  /**
   * Stage drives IsClosed/IsWon/Probability/forecast (Salesforce Object Reference "Opportunity"); person names are
   * concatenations; ExpectedRevenue = Amount × %.
   */
  private deriveFields(type: SObjectType, values: Values, previous: Readonly<Values> | undefined, sent: ReadonlySet<string>): void {
    if (type.name === 'Opportunity') {
      const stageChanged = previous === undefined || values.StageName !== previous.StageName;
      const stage = typeof values.StageName === 'string' ? this.stages.find(values.StageName) : undefined;
      if (stage && stageChanged) {
        values.IsClosed = stage.values.IsClosed === true;
        values.IsWon = stage.values.IsWon === true;
        if (!sent.has('Probability')) values.Probability = stage.values.DefaultProbability ?? null;
        if (!sent.has('ForecastCategoryName')) values.ForecastCategoryName = stage.values.ForecastCategoryName ?? null;
      }
      if (typeof values.ForecastCategoryName === 'string') values.ForecastCategory = forecastCategoryApiName(values.ForecastCategoryName);
      values.ExpectedRevenue = typeof values.Amount === 'number' && typeof values.Probability === 'number' ? Math.round(values.Amount * values.Probability) / 100 : null;
    }
    if (type.name === 'OpportunityTeamMember') {
      // Name and Title are read-only copies of the member's user (Object Reference "OpportunityTeamMember").
      const member = typeof values.UserId === 'string' ? this.store.get('User', values.UserId) : undefined;
      values.Name = member?.values.Name ?? null;
      values.Title = member?.values.Title ?? null;
    }
    if ((type.name === 'Lead' || type.name === 'Contact') && type.field('Name')) {
      values.Name = [values.FirstName, values.LastName].filter((part) => typeof part === 'string' && part !== '').join(' ') || null;
    }
  }

  private checkUnique(type: SObjectType, values: Values, selfId: string): void {
    for (const definition of type.fields) {
      if (!definition.unique || definition.name === 'Id') continue;
      const key = uniquenessKey(definition, values[definition.name] ?? null);
      if (key === undefined) continue;
      const clash = this.store.candidates(type.name, definition.name, values[definition.name] ?? null).find((row) => row.id !== selfId && uniquenessKey(definition, row.values[definition.name] ?? null) === key);
      if (clash) {
        throw badRequest(ErrorCode.DuplicateValue, `duplicate value found: ${definition.name} duplicates value on record with id: ${clash.id}`, [definition.name]);
      }
    }
  }

  private diff(type: SObjectType, before: Readonly<Values>, after: Readonly<Values>): string[] {
    return type.fields.filter((f) => !UNTRACKED.has(f.name) && !f.system && (before[f.name] ?? null) !== (after[f.name] ?? null)).map((f) => f.name);
  }
}

/** A converted lead is read-only (Salesforce Help 000384333, CANNOT_UPDATE_CONVERTED_LEAD). */
export function assertNotConvertedLead(type: SObjectType, record: StoredRecord): void {
  if (type.name === 'Lead' && record.values.IsConverted === true) throw badRequest(ErrorCode.CannotUpdateConvertedLead, 'cannot reference converted lead');
}
