import { createHash } from 'node:crypto';
import type { FieldDefinition, PicklistEntry } from './field-model.ts';

export interface ObjectCapabilities {
  createable: boolean;
  updateable: boolean;
  deletable: boolean;
  queryable: boolean;
  /**
   * Change Data Capture is enabled for the object (Change Data Capture Developer Guide), so writes raise
   * `/data/<Name>ChangeEvent` events.
   */
  changeEvents: boolean;
}

/**
 * One sObject type: its fields in describe order with case-insensitive lookup (Salesforce field and object names are
 * case-insensitive everywhere: JSON bodies, SOQL, URLs).
 */
export class SObjectType {
  private readonly fieldList: FieldDefinition[];
  private readonly byName = new Map<string, FieldDefinition>();
  private readonly byRelationship = new Map<string, FieldDefinition>();

  constructor(
    readonly name: string,
    readonly label: string,
    readonly labelPlural: string,
    readonly keyPrefix: string,
    readonly capabilities: ObjectCapabilities,
    fields: FieldDefinition[],
  ) {
    this.fieldList = [];
    for (const definition of fields) this.addField(definition);
  }

  get fields(): readonly FieldDefinition[] {
    return this.fieldList;
  }

  field(name: string): FieldDefinition | undefined {
    return this.byName.get(name.toLowerCase());
  }

  requireField(name: string): FieldDefinition {
    const definition = this.field(name);
    if (!definition) throw new Error(`${this.name}.${name} is not defined`);
    return definition;
  }

  /** The reference field behind a relationship name (`Account` → AccountId, `Owner` → OwnerId). */
  relationship(name: string): FieldDefinition | undefined {
    return this.byRelationship.get(name.toLowerCase());
  }

  addField(definition: FieldDefinition): void {
    this.fieldList.push(definition);
    this.byName.set(definition.name.toLowerCase(), definition);
    if (definition.relationshipName) this.byRelationship.set(definition.relationshipName.toLowerCase(), definition);
  }

  removeField(name: string): FieldDefinition | undefined {
    const definition = this.field(name);
    if (!definition) return undefined;
    this.fieldList.splice(this.fieldList.indexOf(definition), 1);
    this.byName.delete(definition.name.toLowerCase());
    if (definition.relationshipName) this.byRelationship.delete(definition.relationshipName.toLowerCase());
    return definition;
  }

  setPicklist(name: string, entries: PicklistEntry[]): void {
    const definition = this.field(name);
    if (definition) definition.picklistValues = entries;
  }

  /**
   * Changes whenever the field list changes, like the schema id of a change event (Change Data Capture Developer
   * Guide).
   */
  schemaId(): string {
    const shape = this.fieldList.map((f) => `${f.name}:${f.type}`).join(',');
    return createHash('sha256').update(`${this.name}|${shape}`).digest('base64url').slice(0, 22);
  }
}

/** The org's objects, looked up case-insensitively by name or by id key prefix. */
export class ObjectRegistry {
  private readonly objects = new Map<string, SObjectType>();

  register(type: SObjectType): void {
    this.objects.set(type.name.toLowerCase(), type);
  }

  get(name: string): SObjectType | undefined {
    return this.objects.get(name.toLowerCase());
  }

  byKeyPrefix(prefix: string): SObjectType | undefined {
    for (const type of this.objects.values()) if (type.keyPrefix === prefix) return type;
    return undefined;
  }

  unregister(name: string): void {
    this.objects.delete(name.toLowerCase());
  }

  all(): SObjectType[] {
    return [...this.objects.values()];
  }

  clear(): void {
    this.objects.clear();
  }
}
