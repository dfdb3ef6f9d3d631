import { badRequest, ErrorCode, odataError } from '../errors.ts';
import { isLookup } from '../metadata/attribute-model.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import { resolveBindReference, type ContentIdMap } from './bind-reference.ts';
import type { RecordValues } from './record.ts';
import type { RecordLocator } from './record-locator.ts';
import { isGuid, normalizeGuid, parseInputValue } from './value-codec.ts';

export interface WriteInput {
  /** Stored-form values of the columns the body sets (lookups as references). */
  values: RecordValues;
  /** Logical names of every column the body mentioned, in order; drives webhook `filteringattributes`. */
  sent: string[];
  /** Primary key supplied in the body, if any. */
  id?: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a create/update body against the table definition: unknown columns, wrong JSON types, lengths, option
 * values, `_x_value` writes and `@odata.bind` targets all fail like the real service.
 */
export class RecordInputParser {
  constructor(
    private readonly registry: MetadataRegistry,
    private readonly locator: RecordLocator,
  ) {}

  parse(entity: EntityDefinition, body: unknown, contentIds?: ContentIdMap): WriteInput {
    if (!isPlainObject(body)) throw badRequest('The request body must be a JSON object describing the record.');
    const input: WriteInput = { values: {}, sent: [] };
    const set = (logicalName: string, value: RecordValues[string]): void => {
      input.values[logicalName] = value;
      if (!input.sent.includes(logicalName)) input.sent.push(logicalName);
    };
    for (const [key, raw] of Object.entries(body)) {
      if (key.endsWith('@odata.bind')) {
        const navigationName = key.slice(0, -'@odata.bind'.length);
        const navigation = this.registry.navigationProperty(entity, navigationName);
        if (!navigation) {
          throw odataError(`An undeclared property '${navigationName}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`);
        }
        if (!navigation.attribute.validForCreate && !navigation.attribute.validForUpdate) continue;
        if (raw === null) {
          set(navigation.attribute.logicalName, null);
          continue;
        }
        if (typeof raw !== 'string') throw badRequest(`The value of '${key}' must be a string like '/accounts(<id>)'.`);
        const target = resolveBindReference(this.registry, this.locator, raw, contentIds);
        if (target.entity.logicalName !== navigation.target.entity) {
          throw badRequest(`The navigation property '${navigationName}' expects a '${navigation.target.entity}' reference but '${raw}' is a '${target.entity.logicalName}'.`);
        }
        set(navigation.attribute.logicalName, { id: target.record.id, logicalName: target.entity.logicalName });
        continue;
      }
      // Other instance annotations (`@odata.type`, `@odata.etag`, `x@OData.Community…`) carry no data on a write.
      if (key.includes('@')) continue;
      if (this.registry.lookupByValueProperty(entity, key)) {
        throw badRequest('CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.', ErrorCode.EntityReferenceWrite);
      }
      const attribute = entity.attributes.get(key);
      if (!attribute) {
        if (this.registry.navigationProperty(entity, key)) {
          throw badRequest(`Deep insert through '${key}' is not supported by the Dataverse sandbox; create the related row first and use '${key}@odata.bind'.`, ErrorCode.NotSupported);
        }
        throw odataError(`The property '${key}' does not exist on type 'Microsoft.Dynamics.CRM.${entity.logicalName}'. Make sure to only use property names that are defined by the type.`);
      }
      if (attribute.isPrimaryId) {
        if (typeof raw !== 'string' || !isGuid(normalizeGuid(raw))) throw odataError(`Cannot convert the literal '${String(raw)}' to the expected type 'Edm.Guid'.`);
        input.id = normalizeGuid(raw);
        continue;
      }
      if (isLookup(attribute)) {
        throw badRequest(`'${key}' is a lookup; set it with '${attribute.targets?.[0]?.navigationProperty ?? key}@odata.bind'.`, ErrorCode.EntityReferenceWrite);
      }
      // Read-only system columns (createdon, versionnumber, fullname …) are ignored on writes, as the platform does.
      if (!attribute.validForCreate && !attribute.validForUpdate) continue;
      set(attribute.logicalName, parseInputValue(entity.logicalName, attribute, raw));
    }
    return input;
  }
}
