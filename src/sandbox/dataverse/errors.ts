/**
 * Dataverse error codes. The ones marked (doc) are named in Microsoft's Dataverse docs ("Perform conditional operations
 * using the Web API", "Service protection API limits", "Compose HTTP requests and handle errors"); the others are the
 * codes the platform is commonly seen returning for that condition — clients should branch on HTTP status first.
 */
export const ErrorCode = {
  /** (doc) 412, "The version of the existing record doesn't match the RowVersion property provided." */
  ConcurrencyVersionMismatch: '0x80060882',
  /** (doc) 412 on a duplicate-detection hit. */
  DuplicateDetected: '0x80040333',
  /** (doc) 400, string longer than MaxLength. */
  StringTooLong: '0x80044331',
  /** (doc) 429 service protection: number of requests / execution time / concurrency. */
  TooManyRequests: '0x80072322',
  ExecutionTimeExceeded: '0x80072321',
  TooManyConcurrentRequests: '0x80072326',
  ObjectDoesNotExist: '0x80040217',
  DuplicateRecord: '0x80040237',
  InvalidArgument: '0x80040203',
  OptionValueOutOfRange: '0x8004431a',
  IntegerOutOfRange: '0x80044330',
  /** OData-layer failures: unknown property, bad query option, unparsable literal. */
  ODataError: '0x80060888',
  ResourceNotFoundForSegment: '0x8006088a',
  EntityReferenceWrite: '0x80048d19',
  InvalidSchemaName: '0x80047013',
  UnexpectedError: '0x80040216',
  NotSupported: '0x80040800',
  PrivilegeDenied: '0x80040220',
  BadAuthTicket: '0x80041d00',
  /**
   * (doc) 403 "The user is not a member of the organization.": a valid Entra token for an app registration or user
   * the environment has no systemuser for ("Troubleshoot live synchronization issues", dual-write).
   */
  NotMemberOfOrganization: '0x80072560',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface DataverseErrorBody {
  error: { code: string; message: string };
}

/**
 * Every failure a handler can raise; turned into the documented `{ "error": { code, message } }` body ("Compose HTTP
 * requests and handle errors").
 */
export class DataverseError extends Error {
  override readonly name = 'DataverseError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): DataverseErrorBody {
    return errorBody(this.code, this.message);
  }
}

export function errorBody(code: string, message: string): DataverseErrorBody {
  return { error: { code, message } };
}

/** Used by the shared fault plugin, so injected faults carry the same codes and texts as real ones. */
export function errorBodyForStatus(statusCode: number, message: string): DataverseErrorBody {
  if (statusCode === 429) {
    // The documented service-protection text ("Service protection API limits"), not the fault plugin's wording: clients
    // log and match on it.
    return errorBody(ErrorCode.TooManyRequests, 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.');
  }
  if (statusCode === 401) return errorBody(ErrorCode.BadAuthTicket, message);
  if (statusCode === 404) return errorBody(ErrorCode.ResourceNotFoundForSegment, message);
  if (statusCode === 412) return errorBody(ErrorCode.ConcurrencyVersionMismatch, message);
  if (statusCode >= 500) return errorBody(ErrorCode.UnexpectedError, message);
  return errorBody(ErrorCode.InvalidArgument, message);
}

export const badRequest = (message: string, code: string = ErrorCode.InvalidArgument): DataverseError =>
  new DataverseError(400, code, message);

export const odataError = (message: string): DataverseError => new DataverseError(400, ErrorCode.ODataError, message);

export const recordNotFound = (entity: string, id: string): DataverseError =>
  new DataverseError(404, ErrorCode.ObjectDoesNotExist, `${entity} With Id = ${id} Does Not Exist`);

export const recordNotFoundByKey = (entity: string, key: string): DataverseError =>
  new DataverseError(404, ErrorCode.ObjectDoesNotExist, `A record with the specified key values does not exist in ${entity} entity (${key}).`);

export const segmentNotFound = (segment: string): DataverseError =>
  new DataverseError(404, ErrorCode.ResourceNotFoundForSegment, `Resource not found for the segment '${segment}'.`);

export const versionMismatch = (): DataverseError =>
  new DataverseError(412, ErrorCode.ConcurrencyVersionMismatch, "The version of the existing record doesn't match the RowVersion property provided.");

export const duplicateRecord = (message = 'A record with matching key values already exists.'): DataverseError =>
  new DataverseError(412, ErrorCode.DuplicateRecord, message);

export const unknownProperty = (property: string, entity: string): DataverseError =>
  odataError(`Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.${entity}'.`);

export const notSupported = (message: string, status = 501): DataverseError => new DataverseError(status, ErrorCode.NotSupported, message);
