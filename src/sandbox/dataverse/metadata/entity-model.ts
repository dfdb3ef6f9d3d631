import type { AttributeDefinition } from './attribute-model.ts';

export type EntityKeyIndexStatus = 'Pending' | 'InProgress' | 'Active' | 'Failed';

export interface KeyDefinition {
  metadataId: string;
  logicalName: string;
  schemaName: string;
  displayName: string;
  keyAttributes: string[];
  status: EntityKeyIndexStatus;
  isCustom: boolean;
}

export interface EntityDefinition {
  metadataId: string;
  logicalName: string;
  schemaName: string;
  entitySetName: string;
  displayName: string;
  displayCollectionName: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string | null;
  objectTypeCode: number;
  ownershipType: 'UserOwned' | 'OrganizationOwned' | 'None';
  changeTrackingEnabled: boolean;
  isActivity: boolean;
  /** Insertion-ordered so `Attributes` lists system columns first, like the real service. */
  attributes: Map<string, AttributeDefinition>;
  keys: KeyDefinition[];
  /** Read-only catalogue tables (sdkmessages, systemusers …) reject writes through the Web API. */
  readOnly: boolean;
  /** statecode cannot be sent on create (Dataverse opportunity table reference). */
  stateValidForCreate: boolean;
  /** Created through `POST EntityDefinitions` (IsCustomEntity). */
  isCustom?: boolean;
  /** The intersect table of an N:N relationship: rows come and go only by associate / disassociate. */
  isIntersect?: boolean;
}

export function attributeOf(entity: EntityDefinition, logicalName: string): AttributeDefinition | undefined {
  return entity.attributes.get(logicalName.toLowerCase());
}

export function activeKeys(entity: EntityDefinition): KeyDefinition[] {
  return entity.keys.filter((key) => key.status === 'Active');
}
