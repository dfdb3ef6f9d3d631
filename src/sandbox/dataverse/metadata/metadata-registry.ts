import { badRequest, duplicateRecord, segmentNotFound } from '../errors.ts';
import { isLookup, lookupValueProperty, type AttributeDefinition, type LookupTarget } from './attribute-model.ts';
import type { EntityDefinition, KeyDefinition } from './entity-model.ts';
import type { CollectionNavigation, ManyToManyRelationship } from './relationship-model.ts';
import { intersectEntity } from './relationship-request.ts';
import { standardEntities } from './standard-entities.ts';
import { stableGuid } from './stable-id.ts';

export interface NavigationProperty {
  name: string;
  attribute: AttributeDefinition;
  target: LookupTarget;
}

/** All table definitions of the org, built-in plus columns and keys created at runtime. */
export class MetadataRegistry {
  private byLogicalName = new Map<string, EntityDefinition>();
  private bySetName = new Map<string, EntityDefinition>();
  private relationships = new Map<string, ManyToManyRelationship>();
  /** Custom tables get object type codes from 10000 up, as on a real org. */
  private nextObjectTypeCode = 10_000;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.byLogicalName = new Map();
    this.bySetName = new Map();
    this.relationships = new Map();
    this.nextObjectTypeCode = 10_000;
    for (const entity of standardEntities()) {
      this.byLogicalName.set(entity.logicalName, entity);
      this.bySetName.set(entity.entitySetName, entity);
    }
    const membership = teamMembershipRelationship();
    this.relationships.set(membership.schemaName.toLowerCase(), membership);
    const intersect = intersectEntity(membership, 23);
    this.byLogicalName.set(intersect.logicalName, { ...intersect, isCustom: false });
    this.bySetName.set(intersect.entitySetName, this.byLogicalName.get(intersect.logicalName) as EntityDefinition);
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

  allocateObjectTypeCode(): number {
    return this.nextObjectTypeCode++;
  }

  /** A table created at runtime (custom table or intersect table); the name must be new. */
  addEntity(entity: EntityDefinition): void {
    if (this.byLogicalName.has(entity.logicalName) || this.bySetName.has(entity.entitySetName)) {
      throw duplicateRecord(`An entity with the specified name ${entity.schemaName} already exists. Specify a unique name.`);
    }
    this.byLogicalName.set(entity.logicalName, entity);
    this.bySetName.set(entity.entitySetName, entity);
  }

  relationship(schemaName: string): ManyToManyRelationship | undefined {
    return this.relationships.get(schemaName.toLowerCase());
  }

  relationshipByMetadataId(metadataId: string): ManyToManyRelationship | undefined {
    const wanted = metadataId.toLowerCase();
    return [...this.relationships.values()].find((relationship) => relationship.metadataId === wanted);
  }

  allRelationships(): ManyToManyRelationship[] {
    return [...this.relationships.values()];
  }

  addRelationship(relationship: ManyToManyRelationship): void {
    if (this.relationships.has(relationship.schemaName.toLowerCase())) {
      throw duplicateRecord(`A relationship with the specified name ${relationship.schemaName} already exists. Specify a unique name.`);
    }
    this.relationships.set(relationship.schemaName.toLowerCase(), relationship);
  }

  /** The N:N relationships a table takes part in, with its side's view of each. */
  collectionNavigations(entity: EntityDefinition): CollectionNavigation[] {
    const views: CollectionNavigation[] = [];
    for (const relationship of this.relationships.values()) {
      if (relationship.entity1LogicalName === entity.logicalName) {
        views.push({ relationship, target: relationship.entity2LogicalName, selfAttribute: relationship.entity1IntersectAttribute, targetAttribute: relationship.entity2IntersectAttribute });
      } else if (relationship.entity2LogicalName === entity.logicalName) {
        views.push({ relationship, target: relationship.entity1LogicalName, selfAttribute: relationship.entity2IntersectAttribute, targetAttribute: relationship.entity1IntersectAttribute });
      }
    }
    return views;
  }

  /** A collection-valued navigation property of a table (case-sensitive, like single-valued ones). */
  collectionNavigation(entity: EntityDefinition, name: string): CollectionNavigation | undefined {
    return this.collectionNavigations(entity).find((view) =>
      view.relationship.entity1LogicalName === entity.logicalName ? view.relationship.entity1NavigationPropertyName === name : view.relationship.entity2NavigationPropertyName === name,
    );
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

/**
 * The built-in N:N between users and teams (Dataverse team / systemuser table references, `teammembership_association`,
 * intersect table teammembership): who is on a team, access teams included.
 */
function teamMembershipRelationship(): ManyToManyRelationship {
  return {
    metadataId: stableGuid('relationship', 'teammembership_association'),
    schemaName: 'teammembership_association',
    entity1LogicalName: 'systemuser',
    entity2LogicalName: 'team',
    intersectEntityName: 'teammembership',
    entity1NavigationPropertyName: 'teammembership_association',
    entity2NavigationPropertyName: 'teammembership_association',
    entity1IntersectAttribute: 'systemuserid',
    entity2IntersectAttribute: 'teamid',
    isCustom: false,
  };
}
