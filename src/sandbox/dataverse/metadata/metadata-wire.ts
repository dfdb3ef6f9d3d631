import type { AttributeDefinition, AttributeKind, OptionDefinition } from './attribute-model.ts';
import type { EntityDefinition, KeyDefinition } from './entity-model.ts';
import { label } from './labels.ts';
import { stableGuid } from './stable-id.ts';

const NAMESPACE = 'Microsoft.Dynamics.CRM';

interface TypeNames {
  metadataType: string;
  attributeType: string;
  typeName: string;
}

const TYPE_NAMES: Record<AttributeKind, TypeNames> = {
  Uniqueidentifier: { metadataType: 'UniqueIdentifierAttributeMetadata', attributeType: 'Uniqueidentifier', typeName: 'UniqueidentifierType' },
  String: { metadataType: 'StringAttributeMetadata', attributeType: 'String', typeName: 'StringType' },
  Memo: { metadataType: 'MemoAttributeMetadata', attributeType: 'Memo', typeName: 'MemoType' },
  Integer: { metadataType: 'IntegerAttributeMetadata', attributeType: 'Integer', typeName: 'IntegerType' },
  BigInt: { metadataType: 'BigIntAttributeMetadata', attributeType: 'BigInt', typeName: 'BigIntType' },
  Decimal: { metadataType: 'DecimalAttributeMetadata', attributeType: 'Decimal', typeName: 'DecimalType' },
  Double: { metadataType: 'DoubleAttributeMetadata', attributeType: 'Double', typeName: 'DoubleType' },
  Money: { metadataType: 'MoneyAttributeMetadata', attributeType: 'Money', typeName: 'MoneyType' },
  Boolean: { metadataType: 'BooleanAttributeMetadata', attributeType: 'Boolean', typeName: 'BooleanType' },
  DateTime: { metadataType: 'DateTimeAttributeMetadata', attributeType: 'DateTime', typeName: 'DateTimeType' },
  Picklist: { metadataType: 'PicklistAttributeMetadata', attributeType: 'Picklist', typeName: 'PicklistType' },
  MultiSelectPicklist: { metadataType: 'MultiSelectPicklistAttributeMetadata', attributeType: 'Virtual', typeName: 'MultiSelectPicklistType' },
  State: { metadataType: 'StateAttributeMetadata', attributeType: 'State', typeName: 'StateType' },
  Status: { metadataType: 'StatusAttributeMetadata', attributeType: 'Status', typeName: 'StatusType' },
  Lookup: { metadataType: 'LookupAttributeMetadata', attributeType: 'Lookup', typeName: 'LookupType' },
  Customer: { metadataType: 'LookupAttributeMetadata', attributeType: 'Customer', typeName: 'CustomerType' },
  Owner: { metadataType: 'LookupAttributeMetadata', attributeType: 'Owner', typeName: 'OwnerType' },
  EntityName: { metadataType: 'EntityNameAttributeMetadata', attributeType: 'EntityName', typeName: 'EntityNameType' },
};

export function metadataTypeOf(kind: AttributeKind): string {
  return `${NAMESPACE}.${TYPE_NAMES[kind].metadataType}`;
}

/** Maps an `@odata.type` (with or without `#` and namespace) to the kind it creates. */
export function kindOfMetadataType(odataType: string): AttributeKind | undefined {
  const bare = odataType.replace(/^#/, '').replace(`${NAMESPACE}.`, '');
  const entry = (Object.entries(TYPE_NAMES) as Array<[AttributeKind, TypeNames]>).find(([, names]) => names.metadataType === bare);
  return entry?.[0];
}

function optionWire(attribute: AttributeDefinition, option: OptionDefinition): Record<string, unknown> {
  return {
    Value: option.value,
    Color: null,
    IsManaged: false,
    ExternalValue: null,
    ParentValues: [],
    MetadataId: null,
    HasChanged: null,
    Label: label(option.label),
    Description: label(''),
    ...(attribute.kind === 'Status' ? { State: option.state ?? null } : {}),
    ...(attribute.kind === 'State' ? { DefaultStatus: option.defaultStatus ?? null, InvariantName: option.label.replace(/\s+/g, '') } : {}),
  };
}

/** `OptionSet` is a navigation property of the metadata type: real responses carry it only when `$expand`ed. */
export function optionSetWire(entity: EntityDefinition, attribute: AttributeDefinition): Record<string, unknown> | null {
  const base = { MetadataId: stableGuid('optionset', entity.logicalName, attribute.logicalName), Name: `${entity.logicalName}_${attribute.logicalName}`, IsGlobal: false, IsCustomOptionSet: attribute.isCustom, IsManaged: false };
  if (attribute.kind === 'Boolean') {
    return {
      ...base,
      OptionSetType: 'Boolean',
      TrueOption: { Value: 1, Label: label(attribute.booleanLabels?.trueLabel ?? 'Yes'), Description: label(''), Color: null, IsManaged: false },
      FalseOption: { Value: 0, Label: label(attribute.booleanLabels?.falseLabel ?? 'No'), Description: label(''), Color: null, IsManaged: false },
    };
  }
  if (!attribute.options) return null;
  const optionSetType = attribute.kind === 'State' ? 'State' : attribute.kind === 'Status' ? 'Status' : 'Picklist';
  return { ...base, OptionSetType: optionSetType, Options: attribute.options.map((option) => optionWire(attribute, option)) };
}

export function attributeWire(entity: EntityDefinition, attribute: AttributeDefinition, expandOptionSet: boolean): Record<string, unknown> {
  const names = TYPE_NAMES[attribute.kind];
  const wire: Record<string, unknown> = {
    '@odata.type': `#${NAMESPACE}.${names.metadataType}`,
    MetadataId: attribute.metadataId,
    LogicalName: attribute.logicalName,
    SchemaName: attribute.schemaName,
    EntityLogicalName: entity.logicalName,
    AttributeType: names.attributeType,
    AttributeTypeName: { Value: names.typeName },
    AttributeOf: null,
    ColumnNumber: null,
    IsCustomAttribute: attribute.isCustom,
    IsManaged: false,
    IsLogical: false,
    IsPrimaryId: attribute.isPrimaryId,
    IsPrimaryName: attribute.isPrimaryName,
    IsValidForCreate: attribute.validForCreate,
    IsValidForUpdate: attribute.validForUpdate,
    IsValidForRead: attribute.validForRead,
    IsValidODataAttribute: true,
    IsSecured: false,
    SourceType: 0,
    DisplayName: label(attribute.displayName),
    Description: label(attribute.description),
    RequiredLevel: { Value: attribute.requiredLevel, CanBeChanged: !attribute.isPrimaryId, ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings' },
  };
  switch (attribute.kind) {
    case 'String':
      Object.assign(wire, { MaxLength: attribute.maxLength ?? null, DatabaseLength: (attribute.maxLength ?? 0) * 2, FormatName: { Value: attribute.format ?? 'Text' }, Format: attribute.format ?? 'Text' });
      break;
    case 'Memo':
      Object.assign(wire, { MaxLength: attribute.maxLength ?? null, Format: attribute.format ?? 'TextArea', FormatName: { Value: attribute.format ?? 'TextArea' } });
      break;
    case 'Integer':
    case 'BigInt':
      Object.assign(wire, { MinValue: attribute.minValue ?? null, MaxValue: attribute.maxValue ?? null, Format: 'None' });
      break;
    case 'Decimal':
    case 'Double':
      Object.assign(wire, { MinValue: attribute.minValue ?? null, MaxValue: attribute.maxValue ?? null, Precision: attribute.precision ?? 2 });
      break;
    case 'Money':
      Object.assign(wire, { MinValue: attribute.minValue ?? null, MaxValue: attribute.maxValue ?? null, Precision: attribute.precision ?? 2, PrecisionSource: 2, IsBaseCurrency: false });
      break;
    case 'DateTime':
      Object.assign(wire, { Format: attribute.format ?? 'DateAndTime', DateTimeBehavior: { Value: attribute.format === 'DateOnly' ? 'DateOnly' : 'UserLocal' } });
      break;
    case 'Boolean':
      Object.assign(wire, { DefaultValue: attribute.defaultValue ?? false });
      break;
    case 'Picklist':
    case 'MultiSelectPicklist':
    case 'State':
    case 'Status':
      Object.assign(wire, { DefaultFormValue: typeof attribute.defaultValue === 'number' ? attribute.defaultValue : null });
      break;
    case 'Lookup':
    case 'Customer':
    case 'Owner':
      Object.assign(wire, { Targets: (attribute.targets ?? []).map((target) => target.entity) });
      break;
    default:
      break;
  }
  if (expandOptionSet && (attribute.options || attribute.kind === 'Boolean')) wire.OptionSet = optionSetWire(entity, attribute);
  return wire;
}

export function keyWire(entity: EntityDefinition, key: KeyDefinition): Record<string, unknown> {
  return {
    '@odata.type': `#${NAMESPACE}.EntityKeyMetadata`,
    MetadataId: key.metadataId,
    LogicalName: key.logicalName,
    SchemaName: key.schemaName,
    EntityLogicalName: entity.logicalName,
    KeyAttributes: [...key.keyAttributes],
    DisplayName: label(key.displayName),
    EntityKeyIndexStatus: key.status,
    AsyncJob: null,
    IsManaged: false,
    IsCustomizable: { Value: true, CanBeChanged: true, ManagedPropertyLogicalName: 'iscustomizable' },
    IsSynchronous: false,
    IsExportKey: false,
    IsSecondaryKey: false,
  };
}

export function entityWire(entity: EntityDefinition): Record<string, unknown> {
  return {
    '@odata.type': `#${NAMESPACE}.EntityMetadata`,
    MetadataId: entity.metadataId,
    LogicalName: entity.logicalName,
    SchemaName: entity.schemaName,
    EntitySetName: entity.entitySetName,
    LogicalCollectionName: entity.entitySetName,
    CollectionSchemaName: entity.displayCollectionName.replace(/\s+/g, ''),
    PrimaryIdAttribute: entity.primaryIdAttribute,
    PrimaryNameAttribute: entity.primaryNameAttribute,
    ObjectTypeCode: entity.objectTypeCode,
    OwnershipType: entity.ownershipType === 'None' ? 'None' : entity.ownershipType,
    IsCustomEntity: entity.isCustom === true,
    IsActivity: entity.isActivity,
    IsManaged: false,
    IsValidForAdvancedFind: true,
    ChangeTrackingEnabled: entity.changeTrackingEnabled,
    IsOptimisticConcurrencyEnabled: true,
    IsIntersect: entity.isIntersect === true,
    DisplayName: label(entity.displayName),
    DisplayCollectionName: label(entity.displayCollectionName),
    Description: label(''),
  };
}
