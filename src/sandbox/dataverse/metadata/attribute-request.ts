import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, notSupported } from '../errors.ts';
import type { AttributeDefinition, AttributeKind, OptionDefinition, RequiredLevel } from './attribute-model.ts';
import { labelText } from './labels.ts';
import { kindOfMetadataType } from './metadata-wire.ts';

const labelSchema = z.object({ LocalizedLabels: z.array(z.object({ Label: z.string(), LanguageCode: z.number().int() }).loose()).optional() }).loose();

const optionSchema = z
  .object({
    // A null value asks the platform to assign one from the publisher's option value prefix.
    Value: z.number().int().nullable().optional(),
    Label: labelSchema,
  })
  .loose();

const attributeRequestSchema = z
  .object({
    '@odata.type': z.string({ error: 'is required (e.g. Microsoft.Dynamics.CRM.StringAttributeMetadata)' }),
    SchemaName: z.string().min(1),
    LogicalName: z.string().optional(),
    DisplayName: labelSchema,
    Description: labelSchema.optional(),
    RequiredLevel: z.object({ Value: z.enum(['None', 'Recommended', 'ApplicationRequired', 'SystemRequired']) }).loose().optional(),
    MaxLength: z.number().int().positive().optional(),
    FormatName: z.object({ Value: z.string() }).loose().optional(),
    Format: z.string().optional(),
    MinValue: z.number().optional(),
    MaxValue: z.number().optional(),
    Precision: z.number().int().min(0).max(10).optional(),
    DefaultValue: z.union([z.boolean(), z.number()]).nullable().optional(),
    OptionSet: z
      .object({
        Options: z.array(optionSchema).optional(),
        TrueOption: optionSchema.optional(),
        FalseOption: optionSchema.optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

export type AttributeRequest = z.output<typeof attributeRequestSchema>;

const CREATABLE: ReadonlySet<AttributeKind> = new Set(['String', 'Memo', 'Boolean', 'Picklist', 'MultiSelectPicklist', 'Integer', 'BigInt', 'Decimal', 'Double', 'Money', 'DateTime']);

export function parseAttributeRequest(body: unknown): AttributeRequest {
  const parsed = parseWithProblems(attributeRequestSchema, body ?? {});
  if (!parsed.ok) throw badRequest(`Invalid attribute definition: ${summarizeProblems(parsed.problems)}`);
  return parsed.value;
}

function options(request: AttributeRequest, optionValuePrefix: number): OptionDefinition[] {
  const requested = request.OptionSet?.Options ?? [];
  if (requested.length === 0) throw badRequest('A choice column needs OptionSet.Options with at least one option.');
  let next = optionValuePrefix * 10_000;
  const taken = new Set(requested.map((option) => option.Value).filter((value): value is number => typeof value === 'number'));
  return requested.map((option) => {
    let value = option.Value ?? undefined;
    if (value === undefined) {
      while (taken.has(next)) next += 1;
      value = next;
      taken.add(value);
    }
    const text = labelText(option.Label);
    if (text === undefined) throw badRequest(`Option ${value} needs a Label with at least one LocalizedLabel.`);
    return { value, label: text };
  });
}

/**
 * Builds the column a metadata POST describes ("Create and update column definitions using the Web API" shapes); the
 * body is kept so reads echo what the client sent.
 */
export function attributeFromRequest(entityLogicalName: string, request: AttributeRequest, optionValuePrefix: number, rawBody: Record<string, unknown>): AttributeDefinition {
  const kind = kindOfMetadataType(request['@odata.type']);
  if (kind === 'Lookup' || kind === 'Customer' || kind === 'Owner') {
    throw notSupported('Lookup columns are created with RelationshipDefinitions or the CreateCustomerRelationships action, which the Dataverse sandbox does not support.');
  }
  if (!kind || !CREATABLE.has(kind)) throw badRequest(`The attribute type '${request['@odata.type']}' cannot be created through the Dataverse sandbox.`);
  const logicalName = request.SchemaName.toLowerCase();
  if (request.LogicalName !== undefined && request.LogicalName !== logicalName) {
    throw badRequest(`LogicalName '${request.LogicalName}' must be the lower-case form of SchemaName '${request.SchemaName}'.`);
  }
  const displayName = labelText(request.DisplayName);
  if (displayName === undefined) throw badRequest('DisplayName needs at least one LocalizedLabel.');
  const definition: AttributeDefinition = {
    metadataId: randomUUID(),
    logicalName,
    schemaName: request.SchemaName,
    kind,
    displayName,
    description: labelText(request.Description) ?? '',
    requiredLevel: (request.RequiredLevel?.Value ?? 'None') as RequiredLevel,
    isCustom: true,
    isPrimaryId: false,
    isPrimaryName: false,
    validForCreate: true,
    validForUpdate: true,
    validForRead: true,
    sourceBody: rawBody,
  };
  switch (kind) {
    case 'String': {
      const maxLength = request.MaxLength ?? 100;
      if (maxLength > 4000) throw badRequest('MaxLength of a string column must be between 1 and 4000.');
      return { ...definition, maxLength, format: request.FormatName?.Value ?? request.Format ?? 'Text' };
    }
    case 'Memo': {
      const maxLength = request.MaxLength ?? 2000;
      if (maxLength > 1_048_576) throw badRequest('MaxLength of a memo column must be between 1 and 1048576.');
      return { ...definition, maxLength, format: request.Format ?? 'TextArea' };
    }
    case 'Boolean': {
      const trueLabel = request.OptionSet?.TrueOption ? labelText(request.OptionSet.TrueOption.Label) : undefined;
      const falseLabel = request.OptionSet?.FalseOption ? labelText(request.OptionSet.FalseOption.Label) : undefined;
      return { ...definition, booleanLabels: { trueLabel: trueLabel ?? 'Yes', falseLabel: falseLabel ?? 'No' }, defaultValue: request.DefaultValue === true };
    }
    case 'Picklist':
    case 'MultiSelectPicklist': {
      const picklist = { ...definition, options: options(request, optionValuePrefix) };
      return typeof request.DefaultValue === 'number' && kind === 'Picklist' ? { ...picklist, defaultValue: request.DefaultValue } : picklist;
    }
    case 'Integer':
      return { ...definition, minValue: request.MinValue ?? -2_147_483_648, maxValue: request.MaxValue ?? 2_147_483_647 };
    case 'BigInt':
      return { ...definition, minValue: request.MinValue ?? Number.MIN_SAFE_INTEGER, maxValue: request.MaxValue ?? Number.MAX_SAFE_INTEGER };
    case 'Decimal':
    case 'Double':
      return { ...definition, precision: request.Precision ?? 2, minValue: request.MinValue ?? -100_000_000_000, maxValue: request.MaxValue ?? 100_000_000_000 };
    case 'Money':
      return { ...definition, precision: request.Precision ?? 2, minValue: request.MinValue ?? -922_337_203_685_477, maxValue: request.MaxValue ?? 922_337_203_685_477 };
    case 'DateTime':
      return { ...definition, format: request.Format === 'DateOnly' ? 'DateOnly' : 'DateAndTime' };
    default:
      throw badRequest(`The attribute type '${request['@odata.type']}' cannot be created through the Dataverse sandbox.`);
  }
}
