/**
 * A many-to-many relationship ("Create and update table relationships using the Web API", ManyToManyRelationshipMetadata):
 * two tables joined through an intersect table. Each side reaches the other through a collection-valued navigation
 * property, named after the relationship's SchemaName unless the definition names it.
 */
export interface ManyToManyRelationship {
  metadataId: string;
  schemaName: string;
  entity1LogicalName: string;
  entity2LogicalName: string;
  intersectEntityName: string;
  entity1NavigationPropertyName: string;
  entity2NavigationPropertyName: string;
  /** Columns of the intersect table holding each side's id (`<table>id`, as Dataverse names them). */
  entity1IntersectAttribute: string;
  entity2IntersectAttribute: string;
  isCustom: boolean;
}

/** One side's view of an N:N: the navigation property and where the ids of each end live in the intersect table. */
export interface CollectionNavigation {
  relationship: ManyToManyRelationship;
  /** The table on the other side. */
  target: string;
  selfAttribute: string;
  targetAttribute: string;
}
