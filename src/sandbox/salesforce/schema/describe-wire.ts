import type { FieldDefinition, FieldType } from './field-model.ts';
import type { SObjectType } from './object-model.ts';

const SOAP_TYPES: Record<FieldType, string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  string: 'xsd:string',
  textarea: 'xsd:string',
  picklist: 'xsd:string',
  multipicklist: 'xsd:string',
  url: 'xsd:string',
  email: 'xsd:string',
  phone: 'xsd:string',
  boolean: 'xsd:boolean',
  currency: 'xsd:double',
  double: 'xsd:double',
  percent: 'xsd:double',
  int: 'xsd:int',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
};

function isLongText(field: FieldDefinition): boolean {
  return field.type === 'textarea' && field.length > 255;
}

/** One entry of `fields[]` in `GET /sobjects/X/describe`, with the attributes clients read to plan writes. */
export function describeField(field: FieldDefinition): Record<string, unknown> {
  const textual = field.length > 0 && field.type !== 'boolean';
  return {
    aggregatable: !isLongText(field),
    autoNumber: false,
    byteLength: textual ? field.length * 3 : 0,
    calculated: field.calculated,
    calculatedFormula: null,
    cascadeDelete: false,
    caseSensitive: field.caseSensitive,
    compoundFieldName: field.compound?.field ?? null,
    controllerName: null,
    createable: field.createable,
    custom: field.custom,
    defaultValue: field.type === 'boolean' ? field.defaultValue === true : field.defaultValue,
    defaultValueFormula: null,
    defaultedOnCreate: field.defaultedOnCreate,
    dependentPicklist: false,
    deprecatedAndHidden: false,
    digits: field.type === 'int' ? field.precision : 0,
    externalId: field.externalId,
    filterable: !isLongText(field),
    groupable: !isLongText(field) && field.type !== 'currency' && field.type !== 'double' && field.type !== 'percent',
    htmlFormatted: false,
    idLookup: field.idLookup,
    inlineHelpText: null,
    label: field.label,
    length: field.type === 'boolean' ? 0 : field.length,
    name: field.name,
    nameField: field.name === 'Name',
    namePointing: false,
    nillable: field.nillable,
    permissionable: field.custom && field.nillable,
    picklistValues: field.picklistValues.map((entry) => ({ active: entry.active, defaultValue: entry.defaultValue, label: entry.label, validFor: null, value: entry.value })),
    polymorphicForeignKey: false,
    precision: field.type === 'int' ? 0 : field.precision,
    referenceTargetField: null,
    referenceTo: field.referenceTo,
    relationshipName: field.relationshipName,
    relationshipOrder: null,
    restrictedPicklist: field.restrictedPicklist,
    scale: field.scale,
    soapType: SOAP_TYPES[field.type],
    sortable: !isLongText(field) && field.type !== 'multipicklist',
    type: field.type,
    unique: field.unique,
    updateable: field.updateable,
    writeRequiresMasterRead: false,
  };
}

function objectUrls(type: SObjectType, version: string): Record<string, string> {
  const root = `/services/data/v${version}/sobjects/${type.name}`;
  return { sobject: root, describe: `${root}/describe`, rowTemplate: `${root}/{ID}` };
}

/** The summary used by describeGlobal and the sObject basic-information resource. */
export function describeSummary(type: SObjectType, version: string): Record<string, unknown> {
  const c = type.capabilities;
  return {
    activateable: false,
    createable: c.createable,
    custom: false,
    customSetting: false,
    deletable: c.deletable,
    deprecatedAndHidden: false,
    feedEnabled: false,
    hasSubtypes: false,
    isSubtype: false,
    keyPrefix: type.keyPrefix,
    label: type.label,
    labelPlural: type.labelPlural,
    layoutable: c.createable,
    mergeable: false,
    mruEnabled: c.createable,
    name: type.name,
    queryable: c.queryable,
    replicateable: c.createable,
    retrieveable: true,
    searchable: c.createable,
    triggerable: c.createable,
    undeletable: c.deletable,
    updateable: c.updateable,
    urls: objectUrls(type, version),
  };
}

/**
 * The custom relationship fields of other objects that point at `type`, as describe's `childRelationships` lists them
 * (REST API "sObject Describe"): a junction's master-detail to Opportunity shows up here as the related list.
 */
function childRelationships(type: SObjectType, all: readonly SObjectType[]): Array<Record<string, unknown>> {
  return all.flatMap((child) =>
    child.fields
      .filter((field) => field.childRelationshipName !== undefined && field.referenceTo.includes(type.name))
      .map((field) => ({
        cascadeDelete: field.cascadeDelete === true,
        childSObject: child.name,
        deprecatedAndHidden: false,
        field: field.name,
        junctionIdListNames: [],
        junctionReferenceTo: [],
        relationshipName: `${field.childRelationshipName ?? ''}__r`,
        restrictedDelete: false,
      })),
  );
}

export function describeObject(type: SObjectType, version: string, all: readonly SObjectType[] = []): Record<string, unknown> {
  return {
    ...describeSummary(type, version),
    actionOverrides: [],
    childRelationships: childRelationships(type, all),
    compactLayoutable: type.capabilities.createable,
    fields: type.fields.map(describeField),
    namedLayoutInfos: [],
    networkScopeFieldName: null,
    recordTypeInfos: [],
    searchLayoutable: type.capabilities.createable,
    supportedScopes: [],
  };
}
