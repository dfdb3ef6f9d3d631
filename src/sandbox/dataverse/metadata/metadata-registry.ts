import { badRequest, duplicateRecord, segmentNotFound } from '../errors.ts';
import { isLookup, lookupValueProperty, type AttributeDefinition, type LookupTarget } from './attribute-model.ts';
import type { EntityDefinition, KeyDefinition } from './entity-model.ts';
import { standardEntities } from './standard-entities.ts';

export interface NavigationProperty {
  name: string;
  attribute: AttributeDefinition;
  target: LookupTarget;
}

/** All table definitions of the org, built-in plus columns and keys created at runtime. */
export class MetadataRegistry {
  private byLogicalName = new Map<string, EntityDefinition>();
  private bySetName = new Map<string, EntityDefinition>();

  constructor() {
    this.reset();
  }

  reset(): void {
    this.byLogicalName = new Map();
    this.bySetName = new Map();
    for (const entity of standardEntities()) {
      this.byLogicalName.set(entity.logicalName, entity);
      this.bySetName.set(entity.entitySetName, entity);
    }
  }

  all(): EntityDefinition[] {
    return [...this.byLogicalName.values()];
  }

  entity(logicalName: string): EntityDefinition | undefined {
    return this.byLogicalName.get(logicalName.toLowerCase());
  }

  requireEntity(logicalName: string): EntityDefinition {
    const entity = this.entity(logicalName);
    if (!entity) throw badRequest(`Could not find entity with logical name '${logicalName}'.`);
    return entity;
  }

  /** Entity set names are case-sensitive in the real service, as are all URL segments. */
  entityBySet(entitySetName: string): EntityDefinition | undefined {
    return this.bySetName.get(entitySetName);
  }

  entityByMetadataId(metadataId: string): EntityDefinition | undefined {
    const wanted = metadataId.toLowerCase();
    return this.all().find((entity) => entity.metadataId === wanted);
  }

  requireEntityBySet(entitySetName: string): EntityDefinition {
    const entity = this.entityBySet(entitySetName);
    if (!entity) throw segmentNotFound(entitySetName);
    return entity;
  }

  /** Single-valued navigation properties of a table, from its lookups (case-sensitive, like the real service). */
  navigationProperty(entity: EntityDefinition, name: string): NavigationProperty | undefined {
    for (const attribute of entity.attributes.values()) {
      if (!isLookup(attribute)) continue;
      const target = attribute.targets?.find((candidate) => candidate.navigationProperty === name);
      if (target) return { name, attribute, target };
    }
    return undefined;
  }

  /** Resolves a `_x_value` property name to its lookup column. */
  lookupByValueProperty(entity: EntityDefinition, property: string): AttributeDefinition | undefined {
    const match = /^_(.+)_value$/.exec(property);
    if (!match?.[1]) return undefined;
    const attribute = entity.attributes.get(match[1]);
    return attribute && isLookup(attribute) && lookupValueProperty(attribute.logicalName) === property ? attribute : undefined;
  }

  addAttribute(entity: EntityDefinition, attribute: AttributeDefinition): void {
    if (entity.attributes.has(attribute.logicalName)) {
      throw duplicateRecord(`An attribute with the specified name ${attribute.schemaName} already exists. Please specify a unique name.`);
    }
    entity.attributes.set(attribute.logicalName, attribute);
  }

  addKey(entity: EntityDefinition, key: KeyDefinition): void {
    if (entity.keys.some((existing) => existing.logicalName === key.logicalName)) {
      throw duplicateRecord(`An entity key with the name ${key.schemaName} already exists.`);
    }
    entity.keys.push(key);
  }
}
