import type { AttributeDefinition, AttributeKind, LookupTarget, OptionDefinition, RequiredLevel } from './attribute-model.ts';
import { stableGuid } from './stable-id.ts';

interface CommonOptions {
  display?: string;
  required?: RequiredLevel;
  readOnly?: boolean;
  createOnly?: boolean;
  writeOnly?: boolean;
  schemaName?: string;
}

function pascal(logicalName: string): string {
  return logicalName.charAt(0).toUpperCase() + logicalName.slice(1);
}

function titleCase(logicalName: string): string {
  return pascal(logicalName.replace(/_/g, ' '));
}

/** Builds the built-in columns of one table; ids are stable per (table, column). */
export function attributesFor(entity: string) {
  const base = (logicalName: string, kind: AttributeKind, options: CommonOptions = {}): AttributeDefinition => ({
    metadataId: stableGuid('attribute', entity, logicalName),
    logicalName,
    schemaName: options.schemaName ?? pascal(logicalName),
    kind,
    displayName: options.display ?? titleCase(logicalName),
    description: '',
    requiredLevel: options.required ?? 'None',
    isCustom: false,
    isPrimaryId: false,
    isPrimaryName: false,
    validForCreate: !options.readOnly,
    validForUpdate: !options.readOnly && !options.createOnly,
    validForRead: !options.writeOnly,
  });
  const options = (pairs: Array<[number, string]>): OptionDefinition[] => pairs.map(([value, label]) => ({ value, label }));
  /** statecode: [value, label, its default status reason]. */
  const state = (states: Array<[number, string, number]>): AttributeDefinition => ({
    ...base('statecode', 'State', { display: 'Status', required: 'SystemRequired' }),
    options: states.map(([value, label, defaultStatus]) => ({ value, label, defaultStatus })),
  });
  /** statuscode: [value, label, the state it belongs to]. */
  const status = (statuses: Array<[number, string, number]>): AttributeDefinition => ({
    ...base('statuscode', 'Status', { display: 'Status Reason' }),
    options: statuses.map(([value, label, state]) => ({ value, label, state })),
  });

  return {
    primaryId: (logicalName: string, display?: string): AttributeDefinition => ({
      ...base(logicalName, 'Uniqueidentifier', { display, required: 'SystemRequired', createOnly: true }),
      isPrimaryId: true,
    }),
    guid: (logicalName: string, o: CommonOptions = {}): AttributeDefinition => base(logicalName, 'Uniqueidentifier', o),
    string: (logicalName: string, maxLength: number, o: CommonOptions & { primaryName?: boolean; format?: string } = {}): AttributeDefinition => ({
      ...base(logicalName, 'String', o),
      maxLength,
      format: o.format ?? 'Text',
      isPrimaryName: o.primaryName ?? false,
    }),
    memo: (logicalName: string, maxLength: number, o: CommonOptions = {}): AttributeDefinition => ({
      ...base(logicalName, 'Memo', o),
      maxLength,
      format: 'TextArea',
    }),
    integer: (logicalName: string, min: number, max: number, o: CommonOptions = {}): AttributeDefinition => ({
      ...base(logicalName, 'Integer', o),
      minValue: min,
      maxValue: max,
    }),
    bigint: (logicalName: string, o: CommonOptions = {}): AttributeDefinition => base(logicalName, 'BigInt', o),
    decimal: (logicalName: string, precision: number, o: CommonOptions = {}): AttributeDefinition => ({
      ...base(logicalName, 'Decimal', o),
      precision,
      minValue: -100_000_000_000,
      maxValue: 100_000_000_000,
    }),
    money: (logicalName: string, o: CommonOptions = {}): AttributeDefinition => ({
      ...base(logicalName, 'Money', o),
      precision: 2,
      minValue: -922_337_203_685_477,
      maxValue: 922_337_203_685_477,
    }),
    boolean: (logicalName: string, labels: [falseLabel: string, trueLabel: string] = ['No', 'Yes'], o: CommonOptions & { defaultValue?: boolean } = {}): AttributeDefinition => ({
      ...base(logicalName, 'Boolean', o),
      booleanLabels: { falseLabel: labels[0], trueLabel: labels[1] },
      defaultValue: o.defaultValue ?? false,
    }),
    dateOnly: (logicalName: string, o: CommonOptions = {}): AttributeDefinition => ({ ...base(logicalName, 'DateTime', o), format: 'DateOnly' }),
    dateTime: (logicalName: string, o: CommonOptions = {}): AttributeDefinition => ({ ...base(logicalName, 'DateTime', o), format: 'DateAndTime' }),
    picklist: (logicalName: string, pairs: Array<[number, string]>, o: CommonOptions & { defaultValue?: number } = {}): AttributeDefinition => ({
      ...base(logicalName, 'Picklist', o),
      options: options(pairs),
      ...(o.defaultValue !== undefined ? { defaultValue: o.defaultValue } : {}),
    }),
    entityName: (logicalName: string, o: CommonOptions = {}): AttributeDefinition => base(logicalName, 'EntityName', o),
    state,
    status,
    /**
     * The common two-state table (Active / Inactive, Enabled / Disabled): states 0 and 1, each with one status reason of
     * the same label, 1 and 2.
     */
    onOffStates: (on: string, off: string): AttributeDefinition[] => [
      state([
        [0, on, 1],
        [1, off, 2],
      ]),
      status([
        [1, on, 0],
        [2, off, 1],
      ]),
    ],
    lookup: (logicalName: string, targets: Array<[entity: string, navigationProperty: string]>, o: CommonOptions & { kind?: 'Lookup' | 'Customer' | 'Owner' } = {}): AttributeDefinition => ({
      ...base(logicalName, o.kind ?? (targets.length > 1 ? 'Customer' : 'Lookup'), o),
      targets: targets.map(([target, navigationProperty]): LookupTarget => ({ entity: target, navigationProperty })),
    }),
  };
}

export type AttributeBuilders = ReturnType<typeof attributesFor>;

/** Columns every user- or organization-owned table carries. */
export function systemColumns(b: AttributeBuilders, owned: boolean): AttributeDefinition[] {
  return [
    b.dateTime('createdon', { readOnly: true, display: 'Created On' }),
    b.dateTime('modifiedon', { readOnly: true, display: 'Modified On' }),
    b.lookup('createdby', [['systemuser', 'createdby']], { readOnly: true, display: 'Created By' }),
    b.lookup('modifiedby', [['systemuser', 'modifiedby']], { readOnly: true, display: 'Modified By' }),
    b.lookup('createdonbehalfby', [['systemuser', 'createdonbehalfby']], { readOnly: true, display: 'Created By (Delegate)' }),
    b.lookup('modifiedonbehalfby', [['systemuser', 'modifiedonbehalfby']], { readOnly: true, display: 'Modified By (Delegate)' }),
    b.bigint('versionnumber', { readOnly: true, display: 'Version Number' }),
    ...(owned ? [b.lookup('ownerid', [['systemuser', 'ownerid']], { kind: 'Owner', display: 'Owner', required: 'SystemRequired' })] : []),
  ];
}
