import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseWithProblems, summarizeProblems } from '../../shared/zod-issues.ts';
import { badRequest, notSupported } from '../errors.ts';
import { attributesFor } from './attribute-builders.ts';
import type { EntityDefinition } from './entity-model.ts';
import type { ManyToManyRelationship } from './relationship-model.ts';

const NAMESPACE = 'Microsoft.Dynamics.CRM.';

/**
 * ManyToManyRelationshipMetadata as "Create and update table relationships using the Web API" POSTs it to
 * `RelationshipDefinitions`. Menu configurations and cascade settings are accepted and not modelled.
 */
const manyToManySchema = z
  .object({
    SchemaName: z.string().min(1),
    Entity1LogicalName: z.string().min(1),
    Entity2LogicalName: z.string().min(1),
    IntersectEntityName: z.string().min(1),
    Entity1NavigationPropertyName: z.string().min(1).optional(),
    Entity2NavigationPropertyName: z.string().min(1).optional(),
  })
  .loose();

export function relationshipKind(odataType: unknown): 'ManyToMany' | 'OneToMany' | undefined {
  const bare = typeof odataType === 'string' ? odataType.replace(/^#/, '').replace(NAMESPACE, '') : '';
  if (bare === 'ManyToManyRelationshipMetadata') return 'ManyToMany';
  if (bare === 'OneToManyRelationshipMetadata') return 'OneToMany';
  return undefined;
}

export function manyToManyFromRequest(body: unknown, findEntity: (logicalName: string) => EntityDefinition | undefined): ManyToManyRelationship {
  const kind = relationshipKind((body as { '@odata.type'?: unknown } | null)?.['@odata.type']);
  if (kind === 'OneToMany') throw notSupported('One-to-many relationships (lookup columns) cannot be created through the Dataverse sandbox; it models many-to-many relationships.');
  if (!kind) throw badRequest('A relationship definition needs @odata.type Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata or OneToManyRelationshipMetadata.');
  const parsed = parseWithProblems(manyToManySchema, body);
  if (!parsed.ok) throw badRequest(`Invalid relationship definition: ${summarizeProblems(parsed.problems)}`);
  const request = parsed.value;
  const entity1 = findEntity(request.Entity1LogicalName);
  const entity2 = findEntity(request.Entity2LogicalName);
  for (const [name, entity] of [[request.Entity1LogicalName, entity1], [request.Entity2LogicalName, entity2]] as const) {
    if (!entity) throw badRequest(`Could not find entity with logical name '${name}' for the relationship ${request.SchemaName}.`);
    if (entity.readOnly || entity.isIntersect) throw badRequest(`The entity '${name}' is not valid for a many-to-many relationship.`);
  }
  if (!entity1 || !entity2) throw badRequest(`Invalid relationship definition ${request.SchemaName}.`);
  if (entity1.logicalName === entity2.logicalName) throw notSupported('Self-referencing many-to-many relationships are not modelled by the Dataverse sandbox.');
  return {
    metadataId: randomUUID(),
    schemaName: request.SchemaName,
    entity1LogicalName: entity1.logicalName,
    entity2LogicalName: entity2.logicalName,
    intersectEntityName: request.IntersectEntityName.toLowerCase(),
    entity1NavigationPropertyName: request.Entity1NavigationPropertyName ?? request.SchemaName,
    entity2NavigationPropertyName: request.Entity2NavigationPropertyName ?? request.SchemaName,
    entity1IntersectAttribute: entity1.primaryIdAttribute,
    entity2IntersectAttribute: entity2.primaryIdAttribute,
    isCustom: true,
  };
}

/** The intersect table Dataverse creates with the relationship: one row per associated pair, read-only to clients. */
export function intersectEntity(relationship: ManyToManyRelationship, objectTypeCode: number): EntityDefinition {
  const name = relationship.intersectEntityName;
  const b = attributesFor(name);
  const columns = [b.primaryId(`${name}id`), b.guid(relationship.entity1IntersectAttribute, { readOnly: true }), b.guid(relationship.entity2IntersectAttribute, { readOnly: true }), b.bigint('versionnumber', { readOnly: true })];
  return {
    metadataId: randomUUID(),
    logicalName: name,
    schemaName: relationship.intersectEntityName,
    entitySetName: `${name}set`,
    displayName: relationship.schemaName,
    displayCollectionName: relationship.schemaName,
    primaryIdAttribute: `${name}id`,
    primaryNameAttribute: null,
    objectTypeCode,
    ownershipType: 'None',
    changeTrackingEnabled: false,
    isActivity: false,
    isCustom: true,
    isIntersect: true,
    attributes: new Map(columns.map((column) => [column.logicalName, column])),
    keys: [],
    readOnly: true,
    stateValidForCreate: true,
  };
}

export function relationshipWire(relationship: ManyToManyRelationship): Record<string, unknown> {
  return {
    '@odata.type': `#${NAMESPACE}ManyToManyRelationshipMetadata`,
    MetadataId: relationship.metadataId,
    SchemaName: relationship.schemaName,
    RelationshipType: 'ManyToManyRelationship',
    IsCustomRelationship: relationship.isCustom,
    IsManaged: false,
    Entity1LogicalName: relationship.entity1LogicalName,
    Entity2LogicalName: relationship.entity2LogicalName,
    IntersectEntityName: relationship.intersectEntityName,
    Entity1IntersectAttribute: relationship.entity1IntersectAttribute,
    Entity2IntersectAttribute: relationship.entity2IntersectAttribute,
    Entity1NavigationPropertyName: relationship.entity1NavigationPropertyName,
    Entity2NavigationPropertyName: relationship.entity2NavigationPropertyName,
  };
}
