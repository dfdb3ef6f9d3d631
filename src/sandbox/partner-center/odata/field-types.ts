export type ScalarKind = 'string' | 'enum' | 'datetime' | 'number' | 'boolean';

export type FieldType =
  | { kind: ScalarKind }
  | { kind: 'object'; fields: Readonly<Record<string, FieldType>> }
  | { kind: 'collection'; of: FieldType };

export type ObjectType = Extract<FieldType, { kind: 'object' }>;

export const str: FieldType = { kind: 'string' };
export const enumeration: FieldType = { kind: 'enum' };
export const dateTime: FieldType = { kind: 'datetime' };
export const num: FieldType = { kind: 'number' };
export const bool: FieldType = { kind: 'boolean' };
export const object = (fields: Record<string, FieldType>): ObjectType => ({ kind: 'object', fields });
export const collection = (of: FieldType): FieldType => ({ kind: 'collection', of });

export function isScalar(type: FieldType): type is { kind: ScalarKind } {
  return type.kind !== 'object' && type.kind !== 'collection';
}

export function describeType(type: FieldType): string {
  switch (type.kind) {
    case 'string':
      return 'Edm.String';
    case 'enum':
      return 'enum (Edm.String)';
    case 'datetime':
      return 'Edm.DateTimeOffset';
    case 'number':
      return 'Edm.Decimal';
    case 'boolean':
      return 'Edm.Boolean';
    case 'object':
      return 'complex type';
    case 'collection':
      return 'collection';
  }
}
