/** The describe `type` values the sandbox models (a subset of Salesforce's `FieldType`). */
export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'boolean'
  | 'currency'
  | 'double'
  | 'percent'
  | 'int'
  | 'date'
  | 'datetime'
  | 'picklist'
  | 'multipicklist'
  | 'reference'
  | 'url'
  | 'email'
  | 'phone';

export interface PicklistEntry {
  value: string;
  label: string;
  active: boolean;
  defaultValue: boolean;
}

/** A value as stored: text/ids/picklists/dates as strings, numbers, booleans; datetimes as epoch ms numbers. */
export type FieldValue = string | number | boolean | null;

export interface FieldDefinition {
  name: string;
  label: string;
  type: FieldType;
  /** Characters for text types, 18 for ids, 0 otherwise. */
  length: number;
  precision: number;
  scale: number;
  picklistValues: PicklistEntry[];
  /** Only listed values are accepted (standard "restricted" picklists such as StageName, and `valueSet.restricted`). */
  restrictedPicklist: boolean;
  externalId: boolean;
  unique: boolean;
  /** Unique/external-id matching is case-insensitive unless this is set (the Salesforce default). */
  caseSensitive: boolean;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  /** Required on create: not nillable, createable, and no default supplied by the platform. */
  required: boolean;
  defaultedOnCreate: boolean;
  defaultValue: FieldValue;
  referenceTo: string[];
  relationshipName: string | null;
  custom: boolean;
  calculated: boolean;
  /** Shown as `idLookup` in describe: usable as the key of `/sobjects/X/{field}/{value}`. */
  idLookup: boolean;
  visibleLines?: number;
  /** The CDC compound field this field is part of (`BillingAddress`, `Name`) and its component name there. */
  compound?: { field: string; component: string };
  /** Never written by clients and never part of change events (SystemModstamp, IsDeleted). */
  system?: boolean;
  /** A master-detail field: deleting the master deletes this row (Metadata API "CustomField", MasterDetail). */
  cascadeDelete?: boolean;
  /** Custom relationship fields: the parent's name for the list of children (`Microsoft_Solutions` → `…__r`). */
  childRelationshipName?: string;
}

type FieldOptions = Partial<Omit<FieldDefinition, 'name' | 'label' | 'type'>>;

function base(name: string, label: string, type: FieldType, options: FieldOptions): FieldDefinition {
  const createable = options.createable ?? true;
  const updateable = options.updateable ?? true;
  const nillable = options.nillable ?? true;
  const defaultedOnCreate = options.defaultedOnCreate ?? false;
  return {
    name,
    label,
    type,
    length: options.length ?? 0,
    precision: options.precision ?? 0,
    scale: options.scale ?? 0,
    picklistValues: options.picklistValues ?? [],
    restrictedPicklist: options.restrictedPicklist ?? false,
    externalId: options.externalId ?? false,
    unique: options.unique ?? false,
    caseSensitive: options.caseSensitive ?? false,
    createable,
    updateable,
    nillable,
    required: options.required ?? (!nillable && createable && !defaultedOnCreate && type !== 'boolean'),
    defaultedOnCreate,
    defaultValue: options.defaultValue ?? null,
    referenceTo: options.referenceTo ?? [],
    relationshipName: options.relationshipName ?? null,
    custom: options.custom ?? name.endsWith('__c'),
    calculated: options.calculated ?? false,
    idLookup: options.idLookup ?? false,
    ...(options.visibleLines !== undefined ? { visibleLines: options.visibleLines } : {}),
    ...(options.compound ? { compound: options.compound } : {}),
    ...(options.system ? { system: true } : {}),
    ...(options.cascadeDelete ? { cascadeDelete: true } : {}),
    ...(options.childRelationshipName ? { childRelationshipName: options.childRelationshipName } : {}),
  };
}

const readOnly: FieldOptions = { createable: false, updateable: false };

/** Small constructors so object definitions read like a describe listing. */
export const field = {
  id: (): FieldDefinition => base('Id', 'Record ID', 'id', { ...readOnly, length: 18, nillable: false, defaultedOnCreate: true, idLookup: true }),
  text: (name: string, label: string, length: number, options: FieldOptions = {}): FieldDefinition => base(name, label, 'string', { length, ...options }),
  textarea: (name: string, label: string, length: number, options: FieldOptions = {}): FieldDefinition => base(name, label, 'textarea', { length, ...options }),
  email: (name: string, label: string, options: FieldOptions = {}): FieldDefinition => base(name, label, 'email', { length: 80, ...options }),
  phone: (name: string, label: string, options: FieldOptions = {}): FieldDefinition => base(name, label, 'phone', { length: 40, ...options }),
  url: (name: string, label: string, options: FieldOptions = {}): FieldDefinition => base(name, label, 'url', { length: 255, ...options }),
  boolean: (name: string, label: string, options: FieldOptions = {}): FieldDefinition =>
    base(name, label, 'boolean', { nillable: false, defaultedOnCreate: true, defaultValue: false, ...options }),
  currency: (name: string, label: string, options: FieldOptions = {}): FieldDefinition => base(name, label, 'currency', { precision: 18, scale: 2, ...options }),
  double: (name: string, label: string, options: FieldOptions = {}): FieldDefinition => base(name, label, 'double', { precision: 18, scale: 0, ...options }),
  percent: (name: string, label: string, options: FieldOptions = {}): FieldDefinition => base(name, label, 'percent', { precision: 3, scale: 0, ...options }),
  date: (name: string, label: string, options: FieldOptions = {}): FieldDefinition => base(name, label, 'date', options),
  datetime: (name: string, label: string, options: FieldOptions = {}): FieldDefinition => base(name, label, 'datetime', options),
  picklist: (name: string, label: string, values: PicklistEntry[], options: FieldOptions = {}): FieldDefinition =>
    base(name, label, 'picklist', { length: 255, picklistValues: values, ...options }),
  multipicklist: (name: string, label: string, values: PicklistEntry[], options: FieldOptions = {}): FieldDefinition =>
    base(name, label, 'multipicklist', { length: 4099, picklistValues: values, ...options }),
  reference: (name: string, label: string, referenceTo: string[], relationshipName: string, options: FieldOptions = {}): FieldDefinition =>
    base(name, label, 'reference', { length: 18, referenceTo, relationshipName, ...options }),
};

export function picklistEntries(values: readonly string[], defaultValue?: string): PicklistEntry[] {
  return values.map((value) => ({ value, label: value, active: true, defaultValue: value === defaultValue }));
}

/** System audit fields every object carries, in describe order. */
export function auditFields(): FieldDefinition[] {
  return [
    field.boolean('IsDeleted', 'Deleted', { ...readOnly, system: true }),
    field.datetime('CreatedDate', 'Created Date', { ...readOnly, nillable: false, defaultedOnCreate: true }),
    field.reference('CreatedById', 'Created By ID', ['User'], 'CreatedBy', { ...readOnly, nillable: false, defaultedOnCreate: true }),
    field.datetime('LastModifiedDate', 'Last Modified Date', { ...readOnly, nillable: false, defaultedOnCreate: true }),
    field.reference('LastModifiedById', 'Last Modified By ID', ['User'], 'LastModifiedBy', { ...readOnly, nillable: false, defaultedOnCreate: true }),
    field.datetime('SystemModstamp', 'System Modstamp', { ...readOnly, nillable: false, defaultedOnCreate: true, system: true }),
  ];
}

export const READ_ONLY: FieldOptions = readOnly;
