/**
 * Salesforce REST errors (REST API "Status Codes and Error Responses"): the body is always an array of `{ message,
 * errorCode, fields? }`. Codes marked (doc) appear in Salesforce's or jsforce's documentation; the others are the codes
 * Salesforce is commonly seen returning for that condition.
 */
export const ErrorCode = {
  /** (doc) 401 */
  InvalidSessionId: 'INVALID_SESSION_ID',
  /** (doc) 403 */
  RequestLimitExceeded: 'REQUEST_LIMIT_EXCEEDED',
  /** (doc) 404 */
  NotFound: 'NOT_FOUND',
  /** (doc) */
  RequiredFieldMissing: 'REQUIRED_FIELD_MISSING',
  /** (doc) */
  InvalidField: 'INVALID_FIELD',
  /** (doc) */
  DuplicateValue: 'DUPLICATE_VALUE',
  /** (doc) */
  EntityIsDeleted: 'ENTITY_IS_DELETED',
  MalformedQuery: 'MALFORMED_QUERY',
  InvalidType: 'INVALID_TYPE',
  InvalidQueryFilterOperator: 'INVALID_QUERY_FILTER_OPERATOR',
  InvalidQueryLocator: 'INVALID_QUERY_LOCATOR',
  InvalidFieldForInsertUpdate: 'INVALID_FIELD_FOR_INSERT_UPDATE',
  InvalidCrossReferenceKey: 'INVALID_CROSS_REFERENCE_KEY',
  InvalidOrNullForRestrictedPicklist: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
  InvalidEmailAddress: 'INVALID_EMAIL_ADDRESS',
  StringTooLong: 'STRING_TOO_LONG',
  NumberOutsideValidRange: 'NUMBER_OUTSIDE_VALID_RANGE',
  MalformedId: 'MALFORMED_ID',
  JsonParserError: 'JSON_PARSER_ERROR',
  FieldIntegrityException: 'FIELD_INTEGRITY_EXCEPTION',
  DuplicateDeveloperName: 'DUPLICATE_DEVELOPER_NAME',
  ExceededIdLimit: 'EXCEEDED_ID_LIMIT',
  AllOrNoneRolledBack: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  ProcessingHalted: 'PROCESSING_HALTED',
  InvalidTypeForOperation: 'INVALID_TYPE_FOR_OPERATION',
  InvalidReplicationDate: 'INVALID_REPLICATION_DATE',
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  /** UNCONFIRMED: the code Salesforce puts in a 412 body is not documented; this one says what happened. */
  PreconditionFailed: 'PRECONDITION_FAILED',
  /**
   * UNCONFIRMED: the code for an unparsable conditional header (REST API "Conditional Requests" only documents the
   * 400).
   */
  InvalidHeaderType: 'INVALID_HEADER_TYPE',
  ServerUnavailable: 'SERVER_UNAVAILABLE',
  UnknownException: 'UNKNOWN_EXCEPTION',
  InvalidInput: 'INVALID_INPUT',
  /** Salesforce Help 000384333: any write to a converted lead ("cannot reference converted lead"). */
  CannotUpdateConvertedLead: 'CANNOT_UPDATE_CONVERTED_LEAD',
  /** UNCONFIRMED: what convertLead() answers for a convertedStatus that is not a converted Lead Status. */
  InvalidStatus: 'INVALID_STATUS',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface SalesforceErrorEntry {
  message: string;
  errorCode: string;
  fields?: string[];
}

/** Every failure a handler can raise; rendered as the documented error array. */
export class SalesforceError extends Error {
  override readonly name = 'SalesforceError';
  readonly entries: SalesforceErrorEntry[];

  constructor(
    readonly statusCode: number,
    errorCode: string,
    message: string,
    fields?: string[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.entries = [{ message, errorCode, ...(fields ? { fields } : {}) }];
  }

  get errorCode(): string {
    return this.entries[0]?.errorCode ?? ErrorCode.UnknownException;
  }

  get fields(): string[] {
    return this.entries[0]?.fields ?? [];
  }

  body(): SalesforceErrorEntry[] {
    return this.entries;
  }
}

export const badRequest = (errorCode: string, message: string, fields?: string[]): SalesforceError =>
  new SalesforceError(400, errorCode, message, fields);

export const resourceNotFound = (): SalesforceError => new SalesforceError(404, ErrorCode.NotFound, 'The requested resource does not exist');

export const invalidSession = (): SalesforceError => new SalesforceError(401, ErrorCode.InvalidSessionId, 'Session expired or invalid');

export const requestLimitExceeded = (): SalesforceError => new SalesforceError(403, ErrorCode.RequestLimitExceeded, 'TotalRequests Limit exceeded.');

export const noSuchColumn = (field: string, sobject: string): SalesforceError =>
  badRequest(ErrorCode.InvalidField, `No such column '${field}' on sobject of type ${sobject}`, [field]);

/** Used by the shared fault plugin, so injected faults carry the codes a client would branch on. */
export function errorBodyForStatus(statusCode: number, message: string): SalesforceErrorEntry[] {
  const entry = (errorCode: string, text: string = message): SalesforceErrorEntry[] => [{ message: text, errorCode }];
  if (statusCode === 401) return entry(ErrorCode.InvalidSessionId, 'Session expired or invalid');
  // The daily allocation is Salesforce's throttle ("API Request Limits and Allocations"): 403 with this text, never 429
  // + Retry-After.
  if (statusCode === 403) return entry(ErrorCode.RequestLimitExceeded, 'TotalRequests Limit exceeded.');
  // Salesforce has no documented 429; an injected one still names the limit so a client's log reads sensibly.
  if (statusCode === 429) return entry(ErrorCode.RequestLimitExceeded, message);
  if (statusCode === 404) return entry(ErrorCode.NotFound, 'The requested resource does not exist');
  if (statusCode === 412) return entry(ErrorCode.PreconditionFailed, message);
  if (statusCode === 503) return entry(ErrorCode.ServerUnavailable, message);
  if (statusCode >= 500) return entry(ErrorCode.UnknownException, message);
  return entry(ErrorCode.InvalidInput, message);
}
