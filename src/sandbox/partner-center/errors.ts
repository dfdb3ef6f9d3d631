import type { FieldProblem } from '../shared/zod-issues.ts';

/**
 * The documented top-level error codes ("Partner Center REST error codes"); clients must branch on these, never on
 * messages.
 */
export type PartnerCenterErrorCode =
  | 'accessDenied'
  | 'generalException'
  | 'invalidRequest'
  | 'itemNotFound'
  | 'preconditionFailed'
  | 'resourceModified'
  | 'serviceNotAvailable'
  | 'unauthenticated';

export interface PartnerCenterErrorBody {
  error: {
    code: PartnerCenterErrorCode;
    message: string;
    target?: string;
    /** Every field problem when a body is rejected; the documented shape has room for one `target` only. */
    details?: Array<{ code: PartnerCenterErrorCode; message: string; target: string }>;
  };
}

const MAX_MESSAGE_LENGTH = 1024;

export class PartnerCenterError extends Error {
  override readonly name = 'PartnerCenterError';
  constructor(
    readonly statusCode: number,
    readonly code: PartnerCenterErrorCode,
    message: string,
    readonly target?: string,
    readonly problems?: readonly FieldProblem[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  body(): PartnerCenterErrorBody {
    return errorBody(this.code, this.message, this.target, this.problems);
  }
}

export function errorBody(
  code: PartnerCenterErrorCode,
  message: string,
  target?: string,
  problems?: readonly FieldProblem[],
): PartnerCenterErrorBody {
  // The docs cap messages at 1024 characters; a long validation list is truncated rather than breaking clients.
  const bounded = message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
  return {
    error: {
      code,
      message: bounded,
      ...(target ? { target } : {}),
      ...(problems && problems.length > 0
        ? { details: problems.map((p) => ({ code: 'invalidRequest' as const, message: p.message, target: p.target })) }
        : {}),
    },
  };
}

/**
 * The code a bare HTTP status maps to. There is no documented code for throttling, so 429 shares
 * `serviceNotAvailable` with 503: both mean "retry later".
 */
export function codeForStatus(statusCode: number): PartnerCenterErrorCode {
  if (statusCode === 401) return 'unauthenticated';
  if (statusCode === 403) return 'accessDenied';
  if (statusCode === 404) return 'itemNotFound';
  if (statusCode === 412) return 'preconditionFailed';
  if (statusCode === 429 || statusCode === 503 || statusCode === 504) return 'serviceNotAvailable';
  if (statusCode >= 500) return 'generalException';
  return 'invalidRequest';
}

export function errorBodyForStatus(statusCode: number, message: string, target?: string): PartnerCenterErrorBody {
  return errorBody(codeForStatus(statusCode), message, target);
}

export const notFound = (what: string, id: string): PartnerCenterError =>
  new PartnerCenterError(404, 'itemNotFound', `${what} '${id}' was not found.`);

export const invalidRequest = (message: string, target?: string, problems?: readonly FieldProblem[]): PartnerCenterError =>
  new PartnerCenterError(400, 'invalidRequest', message, target, problems);
