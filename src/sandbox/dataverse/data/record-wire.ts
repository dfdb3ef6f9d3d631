import { notSupported, unknownProperty } from '../errors.ts';
import { isLookup, lookupValueProperty, type AttributeDefinition } from '../metadata/attribute-model.ts';
import type { EntityDefinition } from '../metadata/entity-model.ts';
import type { MetadataRegistry } from '../metadata/metadata-registry.ts';
import { ASSOCIATED_NAVIGATION_PROPERTY, FORMATTED_VALUE, LOOKUP_LOGICAL_NAME, type AnnotationFilter } from '../odata/prefer.ts';
import type { ExpandOption } from '../odata/query-options.ts';
import { formatValue } from './formatted-values.ts';
import { isEntityReference, type StoredRecord } from './record.ts';
import type { RecordStore } from './record-store.ts';
import { toWireValue } from './value-codec.ts';

export interface RenderOptions {
  select?: string[];
  expand?: ExpandOption[];
  annotations: AnnotationFilter;
}

export function etagOf(record: StoredRecord): string {
  return `W/"${String(record.values.versionnumber ?? 0)}"`;
}

/** Columns whose value is never formatted, even with `odata.include-annotations="*"`. */
const UNFORMATTED = new Set(['versionnumber']);

/** Turns stored rows into Web API JSON: `$select`, lookups as `_x_value`, annotations, `$expand`, `@odata.etag`. */
export class RecordRenderer {
  constructor(
    private readonly registry: MetadataRegistry,
    private readonly store: RecordStore,
  ) {}

  /** Resolves `$select` names to columns; unknown names fail like the real OData layer, before any row is read. */
  resolveSelect(entity: EntityDefinition, select: string[] | undefined): AttributeDefinition[] {
    const readable = [...entity.attributes.values()].filter((attribute) => attribute.validForRead);
    if (!select) return readable;
    const chosen = new Map<string, AttributeDefinition>();
    const primary = entity.attributes.get(entity.primaryIdAttribute);
    if (primary) chosen.set(primary.logicalName, primary);
    for (const name of select) {
      const attribute = this.registry.lookupByValueProperty(entity, name) ?? entity.attributes.get(name);
      // Selecting a lookup by its logical name (`parentaccountid`) is answered with `_parentaccountid_value` (tolerant).
      if (!attribute) throw unknownProperty(name, entity.logicalName);
      chosen.set(attribute.logicalName, attribute);
      // Money columns implicitly bring the row's currency ("Select columns using OData").
      if (attribute.kind === 'Money') {
        const currency = entity.attributes.get('transactioncurrencyid');
        if (currency) chosen.set(currency.logicalName, currency);
      }
    }
    return [...chosen.values()];
  }

  validateExpand(entity: EntityDefinition, expand: ExpandOption[] | undefined): void {
    for (const option of expand ?? []) {
      const navigation = this.registry.navigationProperty(entity, option.navigationProperty);
      if (!navigation && this.registry.collectionNavigation(entity, option.navigationProperty)) {
        throw notSupported(`Expanding the collection-valued navigation property '${option.navigationProperty}' is not modelled by the Dataverse sandbox; GET ${entity.entitySetName}(<id>)/${option.navigationProperty} instead.`);
      }
      if (!navigation) throw unknownProperty(option.navigationProperty, entity.logicalName);
      const target = this.registry.requireEntity(navigation.target.entity);
      this.resolveSelect(target, option.select);
      this.validateExpand(target, option.expand);
    }
  }

  primaryName(reference: { id: string; logicalName: string }): string | undefined {
    const target = this.registry.entity(reference.logicalName);
    const row = target ? this.store.get(target.logicalName, reference.id) : undefined;
    const name = target?.primaryNameAttribute ? row?.values[target.primaryNameAttribute] : undefined;
    return typeof name === 'string' ? name : undefined;
  }

  currencySymbol(record: StoredRecord): string {
    const currency = record.values.transactioncurrencyid;
    if (!isEntityReference(currency)) return '$';
    const symbol = this.store.get('transactioncurrency', currency.id)?.values.currencysymbol;
    return typeof symbol === 'string' ? symbol : '$';
  }

  render(entity: EntityDefinition, record: StoredRecord, options: RenderOptions): Record<string, unknown> {
    const output: Record<string, unknown> = { '@odata.etag': etagOf(record) };
    const annotations = options.annotations;
    const context = { currencySymbol: this.currencySymbol(record) };
    for (const attribute of this.resolveSelect(entity, options.select)) {
      const value = record.values[attribute.logicalName];
      if (attribute.isPrimaryId) {
        output[attribute.logicalName] = record.id;
        continue;
      }
      if (isLookup(attribute)) {
        const property = lookupValueProperty(attribute.logicalName);
        if (isEntityReference(value)) {
          const formatted = this.primaryName(value);
          if (formatted !== undefined && annotations.wants(FORMATTED_VALUE)) output[`${property}@${FORMATTED_VALUE}`] = formatted;
          const navigation = attribute.targets?.find((target) => target.entity === value.logicalName)?.navigationProperty;
          if (navigation && annotations.wants(ASSOCIATED_NAVIGATION_PROPERTY)) output[`${property}@${ASSOCIATED_NAVIGATION_PROPERTY}`] = navigation;
          if (annotations.wants(LOOKUP_LOGICAL_NAME)) output[`${property}@${LOOKUP_LOGICAL_NAME}`] = value.logicalName;
          output[property] = value.id;
        } else {
          output[property] = null;
        }
        continue;
      }
      if (!UNFORMATTED.has(attribute.logicalName) && annotations.wants(FORMATTED_VALUE)) {
        const formatted = formatValue(attribute, value, context);
        if (formatted !== undefined) output[`${attribute.logicalName}@${FORMATTED_VALUE}`] = formatted;
      }
      output[attribute.logicalName] = toWireValue(attribute, value);
    }
    for (const option of options.expand ?? []) {
      output[option.navigationProperty] = this.renderExpanded(entity, record, option, annotations);
    }
    return output;
  }

  private renderExpanded(entity: EntityDefinition, record: StoredRecord, option: ExpandOption, annotations: AnnotationFilter): unknown {
    const navigation = this.registry.navigationProperty(entity, option.navigationProperty);
    if (!navigation) throw unknownProperty(option.navigationProperty, entity.logicalName);
    const value = record.values[navigation.attribute.logicalName];
    if (!isEntityReference(value) || value.logicalName !== navigation.target.entity) return null;
    const target = this.registry.requireEntity(navigation.target.entity);
    const related = this.store.get(target.logicalName, value.id);
    return related ? this.render(target, related, { select: option.select, expand: option.expand, annotations }) : null;
  }
}
