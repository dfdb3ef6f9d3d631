import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, ErrorCode, type SalesforceError } from '../errors.ts';
import { field, type FieldDefinition, type PicklistEntry } from './field-model.ts';

export const CUSTOM_FIELD_TYPES = [
  'Text',
  'TextArea',
  'LongTextArea',
  'Checkbox',
  'Picklist',
  'MultiselectPicklist',
  'Url',
  'Email',
  'Phone',
  'Number',
  'Currency',
  'Percent',
  'Date',
  'DateTime',
  'Lookup',
  'MasterDetail',
] as const;

export type CustomFieldType = (typeof CUSTOM_FIELD_TYPES)[number];

const picklistValue = z.object({ fullName: z.string().min(1), label: z.string().optional(), default: z.boolean().optional() }).loose();

/**
 * CustomField metadata as the Tooling API takes it (Tooling API "CustomField"; body shape UNCONFIRMED in detail).
 * Unknown members are accepted and ignored: real metadata has dozens (trackHistory, fieldManageability, …) that a
 * sandbox need not model.
 */
export const customFieldMetadataSchema = z
  .object({
    label: z.string().min(1).max(40),
    type: z.enum(CUSTOM_FIELD_TYPES),
    length: z.number().int().positive().optional(),
    precision: z.number().int().min(1).max(18).optional(),
    scale: z.number().int().min(0).max(17).optional(),
    externalId: z.boolean().optional(),
    unique: z.boolean().optional(),
    caseSensitive: z.boolean().optional(),
    required: z.boolean().optional(),
    defaultValue: z.union([z.string(), z.boolean(), z.null()]).optional(),
    visibleLines: z.number().int().min(1).max(50).optional(),
    description: z.string().optional(),
    inlineHelpText: z.string().optional(),
    // Lookup and MasterDetail (Metadata API "CustomField": referenceTo, relationshipName, relationshipLabel,
    // deleteConstraint).
    referenceTo: z.string().min(1).optional(),
    relationshipName: z.string().min(1).optional(),
    relationshipLabel: z.string().optional(),
    deleteConstraint: z.enum(['SetNull', 'Restrict', 'Cascade']).optional(),
    valueSet: z
      .object({
        restricted: z.boolean().optional(),
        valueSetDefinition: z.object({ sorted: z.boolean().optional(), value: z.array(picklistValue).min(1) }).loose(),
      })
      .loose()
      .optional(),
  })
  .loose();

export const customFieldRequestSchema = z.object({ FullName: z.string().min(1), Metadata: customFieldMetadataSchema }).loose();

export type CustomFieldMetadata = z.output<typeof customFieldMetadataSchema>;

/** A Tooling API CustomField update (PATCH): the whole Metadata again; FullName, when sent, must be the field's own. */
export const customFieldUpdateSchema = z.object({ FullName: z.string().min(1).optional(), Metadata: customFieldMetadataSchema }).loose();

export interface CustomFieldRequest {
  objectName: string;
  /** `Referral_Identifier__c` */
  fieldName: string;
  /** `Referral_Identifier` — what the Tooling API calls DeveloperName. */
  developerName: string;
  metadata: CustomFieldMetadata;
}

/** Letters, digits and single underscores; starts with a letter; no trailing underscore; 40 characters at most. */
const DEVELOPER_NAME = /^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$/;

const integrity = (message: string, fields: string[] = []): SalesforceError => badRequest(ErrorCode.FieldIntegrityException, message, fields);

export function parseCustomFieldRequest(body: unknown): CustomFieldRequest {
  const parsed = parseWithProblems(customFieldRequestSchema, body ?? {});
  if (!parsed.ok) throw badRequest(ErrorCode.InvalidInput, `Invalid CustomField: ${summarizeProblems(parsed.problems)}`);
  const { FullName, Metadata } = parsed.value;
  const match = /^([A-Za-z][A-Za-z0-9_]*)\.([A-Za-z0-9_]+)__c$/.exec(FullName);
  if (!match) throw integrity(`FullName ${FullName} must look like Object.Field_Name__c`, ['FullName']);
  const developerName = match[2] ?? '';
  if (!DEVELOPER_NAME.test(developerName) || developerName.endsWith('_') || developerName.length > 40) {
    throw integrity(
      'The Field Name field can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.',
      ['DeveloperName'],
    );
  }
  checkTypeRules(Metadata);
  return { objectName: match[1] ?? '', fieldName: `${developerName}__c`, developerName, metadata: Metadata };
}

/** What the Metadata API insists on per type; a setup script that passes here also passes in a real org. */
export function checkTypeRules(metadata: CustomFieldMetadata): void {
  const { type } = metadata;
  const need = (property: keyof CustomFieldMetadata): void => {
    if (metadata[property] === undefined) throw integrity(`Must specify '${property}' for a CustomField of type ${type}`, [property]);
  };
  if (type === 'Text') {
    need('length');
    if ((metadata.length ?? 0) > 255) throw integrity('Length cannot exceed 255 for a CustomField of type Text', ['length']);
  }
  if (type === 'LongTextArea') {
    need('length');
    need('visibleLines');
    const length = metadata.length ?? 0;
    if (length < 256 || length > 131_072) throw integrity('Length must be between 256 and 131072 for a CustomField of type LongTextArea', ['length']);
  }
  if (type === 'Checkbox') need('defaultValue');
  if (type === 'Picklist' || type === 'MultiselectPicklist') need('valueSet');
  if (type === 'MultiselectPicklist') need('visibleLines');
  const seen = new Set<string>();
  for (const value of metadata.valueSet?.valueSetDefinition.value ?? []) {
    // Picklist API names are unique regardless of case.
    const key = value.fullName.toLowerCase();
    if (seen.has(key)) throw badRequest(ErrorCode.DuplicateValue, `Duplicate picklist value: ${value.fullName}`, ['valueSet']);
    seen.add(key);
  }
  if (type === 'Number' || type === 'Currency' || type === 'Percent') {
    need('precision');
    need('scale');
    if ((metadata.scale ?? 0) > (metadata.precision ?? 0)) throw integrity('Scale cannot exceed precision', ['scale']);
  }
  if (type === 'Lookup' || type === 'MasterDetail') {
    need('referenceTo');
    need('relationshipName');
    if (!DEVELOPER_NAME.test(metadata.relationshipName ?? '') || (metadata.relationshipName ?? '').endsWith('_')) {
      throw integrity('The Child Relationship Name can only contain underscores and alphanumeric characters; it must begin with a letter and not end with an underscore.', ['relationshipName']);
    }
    if (type === 'MasterDetail' && metadata.deleteConstraint !== undefined) throw integrity('deleteConstraint is not allowed on a MasterDetail field: deleting the master always deletes its details', ['deleteConstraint']);
    if (type === 'MasterDetail' && metadata.required === false) throw integrity('A MasterDetail field is always required', ['required']);
  }
  const keyable = type === 'Text' || type === 'Number' || type === 'Email';
  if (metadata.externalId && !keyable) throw integrity(`External ID is not supported for fields of type ${type}`, ['externalId']);
  if (metadata.unique && !keyable) throw integrity(`Unique is not supported for fields of type ${type}`, ['unique']);
}

export function picklistEntriesOf(metadata: CustomFieldMetadata): PicklistEntry[] {
  return (metadata.valueSet?.valueSetDefinition.value ?? []).map((value) => ({
    value: value.fullName,
    label: value.label ?? value.fullName,
    active: true,
    defaultValue: value.default === true,
  }));
}

/** The describe-level field a CustomField becomes; usable by the REST API, SOQL and change events at once. */
export function fieldFromMetadata(request: CustomFieldRequest): FieldDefinition {
  const { fieldName: name, metadata } = request;
  const label = metadata.label;
  const keys = {
    externalId: metadata.externalId ?? false,
    unique: metadata.unique ?? false,
    caseSensitive: metadata.caseSensitive ?? false,
    idLookup: metadata.externalId ?? false,
    custom: true,
    ...(metadata.required ? { nillable: false, required: true } : {}),
  };
  switch (metadata.type) {
    case 'Text':
      return field.text(name, label, metadata.length ?? 255, keys);
    case 'TextArea':
      return field.textarea(name, label, 255, keys);
    case 'LongTextArea':
      return field.textarea(name, label, metadata.length ?? 32_768, { ...keys, visibleLines: metadata.visibleLines ?? 3 });
    case 'Checkbox':
      return field.boolean(name, label, { custom: true, defaultValue: metadata.defaultValue === true || metadata.defaultValue === 'true' });
    case 'Picklist':
      return field.picklist(name, label, picklistEntriesOf(metadata), { ...keys, restrictedPicklist: metadata.valueSet?.restricted ?? false });
    case 'MultiselectPicklist':
      return field.multipicklist(name, label, picklistEntriesOf(metadata), { ...keys, restrictedPicklist: metadata.valueSet?.restricted ?? false, visibleLines: metadata.visibleLines ?? 4 });
    case 'Url':
      return field.url(name, label, keys);
    case 'Email':
      return field.email(name, label, keys);
    case 'Phone':
      return field.phone(name, label, keys);
    case 'Number':
      return field.double(name, label, { ...keys, precision: metadata.precision ?? 18, scale: metadata.scale ?? 0 });
    case 'Currency':
      return field.currency(name, label, { ...keys, precision: metadata.precision ?? 18, scale: metadata.scale ?? 2 });
    case 'Percent':
      return field.percent(name, label, { ...keys, precision: metadata.precision ?? 3, scale: metadata.scale ?? 0 });
    case 'Date':
      return field.date(name, label, keys);
    case 'DateTime':
      return field.datetime(name, label, keys);
    case 'Lookup':
    case 'MasterDetail': {
      const master = metadata.type === 'MasterDetail';
      // Child → parent traversal uses the field's name with __r (`Microsoft_Solution__r.Name`); `relationshipName` is
      // the parent's name for its list of children (`Opportunities__r` in a subquery).
      return field.reference(name, label, [metadata.referenceTo ?? ''], `${request.developerName}__r`, {
        custom: true,
        nillable: !master && metadata.required !== true,
        required: master || metadata.required === true,
        ...(master ? { cascadeDelete: true, childRelationshipName: metadata.relationshipName ?? '' } : { childRelationshipName: metadata.relationshipName ?? '' }),
      });
    }
  }
}
