import { RecordStore, type StoredRecord } from '../data/record-store.ts';
import { badRequest, ErrorCode, resourceNotFound, SalesforceError } from '../errors.ts';
import { type IdGenerator, KEY_PREFIX, toId18 } from '../ids.ts';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
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
  }

  createCustomField(body: unknown, userId: string): StoredRecord {
    const request = parseCustomFieldRequest(body);
    const target = this.dataRegistry.get(request.objectName);
    if (!target || !(WRITABLE_OBJECTS as readonly string[]).includes(target.name)) {
      throw badRequest(ErrorCode.InvalidType, `Cannot add custom fields to ${request.objectName}: the sandbox supports ${WRITABLE_OBJECTS.join(', ')}`, ['FullName']);
    }
    if (target.field(request.fieldName)) {
      throw badRequest(ErrorCode.DuplicateDeveloperName, `There is already a field named ${request.developerName} on ${target.name}.`, ['DeveloperName']);
    }
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
        TableEnumOrId: target.name,
        EntityDefinitionId: target.name,
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
    const target = this.dataRegistry.get(String(record.values.TableEnumOrId));
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
    const target = this.dataRegistry.get(String(record.values.TableEnumOrId));
    const name = String(record.values.FullName).split('.')[1] ?? '';
    if (!target?.removeField(name)) throw new SalesforceError(404, ErrorCode.NotFound, 'The requested resource does not exist');
    for (const row of this.dataStore.all(target.name, { includeDeleted: true })) {
      const { [name]: _removed, ...values } = row.values;
      this.dataStore.put({ ...row, values });
    }
    this.store.purge('CustomField', record.id);
    this.metadata.delete(record.id);
  }

  /** Removes every custom field (a metadata reset of the sandbox). */
  reset(): void {
    for (const row of this.store.all('CustomField')) this.deleteCustomField(row.id);
  }
}
