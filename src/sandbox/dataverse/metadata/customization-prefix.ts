import { badRequest, ErrorCode } from '../errors.ts';

/** A publisher prefix is 2–8 letters/digits starting with a letter; `mscrm` is reserved for Microsoft. */
const PREFIXED_SCHEMA_NAME = /^([A-Za-z][A-Za-z0-9]{1,7})_[A-Za-z0-9_]+$/;
const RESERVED_PREFIXES = new Set(['mscrm']);

export function schemaNamePrefix(schemaName: string): string | undefined {
  return PREFIXED_SCHEMA_NAME.exec(schemaName)?.[1]?.toLowerCase();
}

/**
 * Custom components on system tables must carry the publisher's customization prefix ("Create and update column
 * definitions using the Web API"). When the request names a solution (`MSCRM.SolutionUniqueName`) the prefix must be
 * that solution's publisher's; without one any well-formed, non-reserved prefix is accepted (the sandbox does not know
 * which publisher the caller meant).
 */
export function assertCustomizationPrefix(schemaName: string, component: 'Attribute' | 'EntityKey' | 'Entity' | 'Relationship', expectedPrefix: string | undefined): void {
  const prefix = schemaNamePrefix(schemaName);
  if (!prefix || RESERVED_PREFIXES.has(prefix)) {
    throw badRequest(
      `The schema name ${schemaName} for type ${component} is not prefixed with a valid customization prefix. Custom components need the publisher prefix followed by an underscore, for example new_${schemaName}.`,
      ErrorCode.InvalidSchemaName,
    );
  }
  if (expectedPrefix !== undefined && prefix !== expectedPrefix.toLowerCase()) {
    throw badRequest(
      `The schema name ${schemaName} for type ${component} does not use the prefix '${expectedPrefix}_' of the publisher of the solution named in MSCRM.SolutionUniqueName.`,
      ErrorCode.InvalidSchemaName,
    );
  }
}
