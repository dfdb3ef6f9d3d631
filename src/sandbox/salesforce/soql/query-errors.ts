import { badRequest, ErrorCode, type SalesforceError } from '../errors.ts';

/**
 * Salesforce points at the offending spot: the query line, a caret, then `ERROR at Row:r:Column:c` and the problem.
 * Clients surface this text to people, so the sandbox keeps the layout.
 */
export function locatedMessage(query: string, position: number, problem: string): string {
  const before = query.slice(0, position);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = query.indexOf('\n', position);
  const line = query.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  const column = position - lineStart + 1;
  return `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${problem}`;
}

export function malformedQuery(query: string, position: number, problem: string): SalesforceError {
  return badRequest(ErrorCode.MalformedQuery, locatedMessage(query, position, problem));
}

export function invalidField(query: string, position: number, problem: string): SalesforceError {
  return badRequest(ErrorCode.InvalidField, locatedMessage(query, position, problem));
}

export function invalidType(query: string, position: number, name: string): SalesforceError {
  return badRequest(
    ErrorCode.InvalidType,
    locatedMessage(
      query,
      position,
      `sObject type '${name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    ),
  );
}

export function invalidFilter(query: string, position: number, problem: string): SalesforceError {
  return badRequest(ErrorCode.InvalidQueryFilterOperator, locatedMessage(query, position, problem));
}

export const NO_SUCH_COLUMN_HINT =
  "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

export const NO_SUCH_RELATIONSHIP_HINT =
  "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.";
