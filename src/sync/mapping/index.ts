/** Mapping files: loading, validation against CRM metadata, and conversion between each side and canonical records. */
export { canonicalEquals } from './canonical.ts';
export { MappingError, type MappingIssue } from './mapping-error.ts';
export { loadMappingFile, parseMappingText, type LoadMappingOptions } from './load-mapping.ts';
export { assertValidMapping, validateMapping, type MappingMetadata } from './validate-mapping.ts';
export {
  canonicalToCrm,
  canonicalToReferralChanges,
  crmToCanonical,
  referralToCanonical,
  type ConversionIssue,
  type ReferralReadOptions,
  type ReferralWriteOptions,
} from './convert.ts';
export { crmColumnsToRead, type CrmColumnToRead } from './crm-columns.ts';
export { isLookupReference, type LookupReference } from './transforms/index.ts';
export { flowsToCrm, flowsToPc, mappedEntities, type EntitySpec, type FieldMapping, type MappingSpec } from './spec.ts';
export {
  CONFLICT_POLICIES,
  SYNC_DIRECTIONS,
  TRANSFORM_TYPES,
  type ConflictPolicy,
  type SyncDirection,
  type Transform,
} from './spec-schema.ts';
