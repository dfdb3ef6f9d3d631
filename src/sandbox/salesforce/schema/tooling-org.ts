import { RecordStore, type StoredRecord } from '../data/record-store.ts';
import { badRequest, ErrorCode, resourceNotFound, SalesforceError } from '../errors.ts';
import { type IdGenerator, KEY_PREFIX, toId18 } from '../ids.ts';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { objectFromMetadata, parseCustomObjectRequest } from './custom-object-metadata.ts';
import { checkTypeRules, customFieldUpdateSchema, fieldFromMetadata, parseCustomFieldRequest, picklistEntriesOf, type CustomFieldMetadata } from './custom-field-metadata.ts';
import { auditFields, field, READ_ONLY } from './field-model.ts';
import { ObjectRegistry, SObjectType } from './object-model.ts';
import { WRITABLE_OBJECTS } from './standard-objects.ts';

/**
 * The Tooling API's view of the org (Tooling API "CustomField"): CustomField rows that can be created, read, deleted
 * and queried. Creating one adds the field to the data org immediately — no deploy, no field-level security step
 * (tolerant choice; Tooling API "CustomField" notes that a real org may hide a new field from the integration user
 * until a permission set grants it).
 */
export class ToolingOrg {
  readonly registry = new ObjectRegistry();
  readonly store = new RecordStore();
  private readonly metadata = new Map<string, CustomFieldMetadata>();
  /** Custom objects created through the Tooling API, by lower-case API name → CustomObject row id. */
  private readonly customObjects = new Map<string, string>();
  /** Custom objects get key prefixes `a00`, `a01`, … as on a real org. */
  private nextObjectSerial = 0;

  constructor(
    private readonly dataRegistry: ObjectRegistry,
    private readonly dataStore: RecordStore,
    private readonly ids: IdGenerator,
  ) {
    const ro = READ_ONLY;
    this.registry.register(
      new SObjectType('CustomField', 'Custom Field', 'Custom Fields', KEY_PREFIX.CustomField, { createable: true, updateable: false, deletable: true, queryable: true, changeEvents: false }, [
        field.id(),
        field.text('DeveloperName', 'Developer Name', 40, ro),
        field.text('TableEnumOrId', 'Table Enum or Id', 40, ro),
        field.text('EntityDefinitionId', 'Entity Definition ID', 40, ro),
        field.text('NamespacePrefix', 'Namespace Prefix', 15, ro),
        field.text('FullName', 'Full Name', 255, ro),
        field.text('Description', 'Description', 1000, ro),
        field.text('InlineHelpText', 'Inline Help Text', 510, ro),
        field.picklist('ManageableState', 'Manageable State', [{ value: 'unmanaged', label: 'unmanaged', active: true, defaultValue: true }], ro),
        ...auditFields(),
      ]),
    );
    this.registry.register(
      new SObjectType('CustomObject', 'Custom Object', 'Custom Objects', KEY_PREFIX.CustomObject, { createable: true, updateable: false, deletable: true, queryable: true, changeEvents: false }, [
        field.id(),
        field.text('DeveloperName', 'Developer Name', 40, ro),
        field.text('NamespacePrefix', 'Namespace Prefix', 15, ro),
        field.text('FullName', 'Full Name', 255, ro),
        field.text('Description', 'Description', 1000, ro),
        field.picklist('ManageableState', 'Manageable State', [{ value: 'unmanaged', label: 'unmanaged', active: true, defaultValue: true }], ro),
        ...auditFields(),
      ]),
    );
  }

  /**
   * A custom object (Tooling API "CustomObject"): the data org gets the object with Id, Name, OwnerId and audit fields
   * at once (deployed). A second object with the same name is DUPLICATE_DEVELOPER_NAME.
   */
  createCustomObject(body: unknown, userId: string): StoredRecord {
    const request = parseCustomObjectRequest(body);
    if (this.dataRegistry.get(request.objectName)) {
      throw badRequest(ErrorCode.DuplicateDeveloperName, `There is already an object named ${request.objectName}.`, ['DeveloperName']);
    }
    const serial = this.nextObjectSerial++;
    const keyPrefix = `a${'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'.charAt(Math.floor(serial / 36) % 36)}${'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'.charAt(serial % 36)}`;
    this.dataRegistry.register(objectFromMetadata(request, keyPrefix));
    const now = Date.now();
    const id = this.ids.next(KEY_PREFIX.CustomObject);
    const record: StoredRecord = {
      id,
      sobject: 'CustomObject',
      deletedAt: null,
      sequence: this.store.nextSequence(),
      values: {
        Id: id,
        DeveloperName: request.developerName,
        NamespacePrefix: null,
        FullName: request.objectName,
        Description: request.metadata.description ?? null,
        ManageableState: 'unmanaged',
        IsDeleted: false,
        CreatedDate: now,
        CreatedById: userId,
        LastModifiedDate: now,
        LastModifiedById: userId,
        SystemModstamp: now,
      },
    };
    this.store.put(record);
    this.customObjects.set(request.objectName.toLowerCase(), id);
    return record;
  }

  /** The CustomObject row id of a custom object created here, which is what its fields carry as TableEnumOrId. */
  customObjectId(objectName: string): string | undefined {
    return this.customObjects.get(objectName.toLowerCase());
  }

  requireCustomObject(id: string): StoredRecord {
    const id18 = toId18(id);
    const record = id18 ? this.store.get('CustomObject', id18) : undefined;
    if (!record || record.deletedAt !== null) throw resourceNotFound();
    return record;
  }

  /**
   * Relationship fields point at an object that exists in the data org; a master-detail field goes only on a custom
   * object, at most two per object, and not while the object has rows (Salesforce Help "Considerations for
   * Relationships").
   */
  private checkRelationship(target: SObjectType, metadata: CustomFieldMetadata): void {
    if (metadata.type !== 'Lookup' && metadata.type !== 'MasterDetail') return;
    const parent = this.dataRegistry.get(metadata.referenceTo ?? '');
    const parentAllowed = parent && ((WRITABLE_OBJECTS as readonly string[]).includes(parent.name) || this.customObjectId(parent.name) !== undefined);
    if (!parent || !parentAllowed) {
      throw badRequest(ErrorCode.FieldIntegrityException, `referenceTo value of '${metadata.referenceTo ?? ''}' does not resolve to a valid sObject type`, ['referenceTo']);
    }
    const childName = (metadata.relationshipName ?? '').toLowerCase();
    for (const type of this.dataRegistry.all()) {
      const clash = type.fields.some((candidate) => candidate.referenceTo.includes(parent.name) && candidate.childRelationshipName?.toLowerCase() === childName);
      if (clash) throw badRequest(ErrorCode.DuplicateDeveloperName, `${parent.name} already has a child relationship named ${metadata.relationshipName ?? ''}`, ['relationshipName']);
    }
    if (metadata.type !== 'MasterDetail') return;
    if (this.customObjectId(target.name) === undefined) {
      throw badRequest(ErrorCode.FieldIntegrityException, `A MasterDetail field can only be created on a custom object, not on ${target.name}`, ['type']);
    }
    if (target.fields.filter((candidate) => candidate.cascadeDelete).length >= 2) {
      throw badRequest(ErrorCode.FieldIntegrityException, `${target.name} already has two master-detail relationships, the maximum`, ['type']);
    }
    if (this.dataStore.count(target.name) > 0) {
      throw badRequest(ErrorCode.FieldIntegrityException, `You cannot create a new Master-Detail relationship on an existing custom object if records already exist: ${target.name} has rows`, ['type']);
    }
  }

  createCustomField(body: unknown, userId: string): StoredRecord {
    const request = parseCustomFieldRequest(body);
    const target = this.dataRegistry.get(request.objectName);
    const customObjectId = target ? this.customObjectId(target.name) : undefined;
    if (!target || (!(WRITABLE_OBJECTS as readonly string[]).includes(target.name) && customObjectId === undefined)) {
      throw badRequest(ErrorCode.InvalidType, `Cannot add custom fields to ${request.objectName}: the sandbox supports ${WRITABLE_OBJECTS.join(', ')} and custom objects`, ['FullName']);
    }
    if (target.field(request.fieldName)) {
      throw badRequest(ErrorCode.DuplicateDeveloperName, `There is already a field named ${request.developerName} on ${target.name}.`, ['DeveloperName']);
    }
    this.checkRelationship(target, request.metadata);
    const definition = fieldFromMetadata(request);
    target.addField(definition);
    const now = Date.now();
    const id = this.ids.next(KEY_PREFIX.CustomField);
    const record: StoredRecord = {
      id,
      sobject: 'CustomField',
      deletedAt: null,
      sequence: this.store.nextSequence(),
      values: {
        Id: id,
        DeveloperName: request.developerName,
        // Fields of a custom object name it by its CustomObject id (Tooling API "CustomField" TableEnumOrId).
        TableEnumOrId: customObjectId ?? target.name,
        EntityDefinitionId: customObjectId ?? target.name,
        NamespacePrefix: null,
        FullName: `${target.name}.${definition.name}`,
        Description: request.metadata.description ?? null,
        InlineHelpText: request.metadata.inlineHelpText ?? null,
        ManageableState: 'unmanaged',
        IsDeleted: false,
        CreatedDate: now,
        CreatedById: userId,
        LastModifiedDate: now,
        LastModifiedById: userId,
        SystemModstamp: now,
      },
    };
    this.store.put(record);
    this.metadata.set(id, structuredClone(request.metadata));
    return record;
  }

  requireCustomField(id: string): StoredRecord {
    const id18 = toId18(id);
    const record = id18 ? this.store.get('CustomField', id18) : undefined;
    if (!record || record.deletedAt !== null) throw resourceNotFound();
    return record;
  }

  /**
   * A CustomField update (Tooling API PATCH of the whole Metadata). The sandbox applies what setup changes — the
   * picklist's value set, its label and description — and refuses a type change. Values left out of the new value set
   * stay on the field as inactive (Metadata API Developer Guide, Picklist: "if the picklist value is missing and you
   * invoke an update() call, the missing value becomes inactive").
   */
  updateCustomField(id: string, body: unknown, userId: string): StoredRecord {
    const record = this.requireCustomField(id);
    const parsed = parseWithProblems(customFieldUpdateSchema, body ?? {});
    if (!parsed.ok) throw badRequest(ErrorCode.InvalidInput, `Invalid CustomField: ${summarizeProblems(parsed.problems)}`);
    const { FullName, Metadata } = parsed.value;
    const fullName = String(record.values.FullName);
    if (FullName !== undefined && FullName.toLowerCase() !== fullName.toLowerCase()) {
      throw badRequest(ErrorCode.FieldIntegrityException, `FullName ${FullName} does not name this field (${fullName}); a field cannot be renamed here`, ['FullName']);
    }
    const previous = this.metadata.get(record.id);
    if (previous && previous.type !== Metadata.type) {
      throw badRequest(ErrorCode.FieldIntegrityException, `Cannot change the type of ${fullName} from ${previous.type} to ${Metadata.type} through the sandbox`, ['type']);
    }
    checkTypeRules(Metadata);
    const target = this.dataRegistry.get(fullName.split('.')[0] ?? '');
    const definition = target?.field(fullName.split('.')[1] ?? '');
    if (!target || !definition) throw resourceNotFound();
    if (Metadata.type === 'Picklist' || Metadata.type === 'MultiselectPicklist') {
      const entries = picklistEntriesOf(Metadata);
      const kept = new Set(entries.map((entry) => entry.value.toLowerCase()));
      const dropped = definition.picklistValues.filter((entry) => !kept.has(entry.value.toLowerCase())).map((entry) => ({ ...entry, active: false, defaultValue: false }));
      target.setPicklist(definition.name, [...entries, ...dropped]);
      definition.restrictedPicklist = Metadata.valueSet?.restricted ?? definition.restrictedPicklist;
    }
    definition.label = Metadata.label;
    const now = Date.now();
    const updated: StoredRecord = {
      ...record,
      sequence: this.store.nextSequence(),
      values: { ...record.values, Description: Metadata.description ?? null, InlineHelpText: Metadata.inlineHelpText ?? null, LastModifiedDate: now, LastModifiedById: userId, SystemModstamp: now },
    };
    this.store.put(updated);
    this.metadata.set(record.id, structuredClone(Metadata));
    return updated;
  }

  metadataOf(id: string): CustomFieldMetadata | undefined {
    return this.metadata.get(id);
  }

  /** Deleting a field drops it and its values from every row, as a real org does once the field is purged. */
  deleteCustomField(id: string): void {
    const record = this.requireCustomField(id);
    const [objectName = '', name = ''] = String(record.values.FullName).split('.');
    const target = this.dataRegistry.get(objectName);
    if (!target?.removeField(name)) throw new SalesforceError(404, ErrorCode.NotFound, 'The requested resource does not exist');
    for (const row of this.dataStore.all(target.name, { includeDeleted: true })) {
      const { [name]: _removed, ...values } = row.values;
      this.dataStore.put({ ...row, values });
    }
    this.store.purge('CustomField', record.id);
    this.metadata.delete(record.id);
  }

  /** Removes every custom field and custom object with its rows (a metadata reset of the sandbox). */
  reset(): void {
    const objects = [...this.customObjects.keys()];
    for (const row of this.store.all('CustomField')) {
      const objectName = String(row.values.FullName).split('.')[0]?.toLowerCase() ?? '';
      if (!this.customObjects.has(objectName)) this.deleteCustomField(row.id);
      else this.store.purge('CustomField', row.id);
    }
    for (const name of objects) {
      const type = this.dataRegistry.get(name);
      if (type) this.dataStore.clear([type.name]);
      this.dataRegistry.unregister(name);
      const id = this.customObjects.get(name);
      if (id) this.store.purge('CustomObject', id);
    }
    this.customObjects.clear();
    this.nextObjectSerial = 0;
  }

  /** The names of the custom objects, so a data reset clears their rows too. */
  customObjectNames(): string[] {
    return [...this.customObjects.keys()].map((name) => this.dataRegistry.get(name)?.name ?? name);
  }
}
