import { z } from 'zod';
import type { CrmApiError, CrmPreconditionFailedError } from '../connector.ts';
import { errorEntrySchema, errorFromEntries } from './salesforce-errors.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import type { CallLane } from './api-pacing.ts';

/*
 * `/composite` (REST API "Composite"): up to 25 subrequests in one API call, later ones referring to earlier results
 * with `@{ref.id}`. The connector uses it so that a write and the read-back of the new version cost one call of the
 * daily allocation instead of two, and so that customer lookups for one referral are a single call.
 */

export const MAX_SUBREQUESTS = 25;

export interface Subrequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to `/services/data/vXX.X`; may contain `@{ref.path}` references. */
  path: string;
  referenceId: string;
  body?: unknown;
  httpHeaders?: Record<string, string>;
}

const subresponseSchema = z.looseObject({
  body: z.unknown(),
  httpStatusCode: z.number(),
  referenceId: z.string(),
  httpHeaders: z.record(z.string(), z.string()).nullish(),
});
export type Subresponse = z.output<typeof subresponseSchema>;
const compositeResponseSchema = z.looseObject({ compositeResponse: z.array(subresponseSchema) });

export async function composite(
  client: SalesforceClient,
  subrequests: readonly Subrequest[],
  options: { allOrNone: boolean; route: string; idempotent: boolean; lane?: CallLane },
): Promise<Map<string, Subresponse>> {
  const response = await client.sendParsed(
    {
      method: 'POST',
      path: '/composite',
      route: `composite ${options.route}`,
      // Reads, keyed creates and updates may be resent after a failure without an answer; unkeyed creates may not.
      idempotent: options.idempotent,
      ...(options.lane ? { lane: options.lane } : {}),
      body: {
        allOrNone: options.allOrNone,
        compositeRequest: subrequests.map((sub) => ({
          method: sub.method,
          url: `/services/data/v${client.apiVersion}${sub.path}`,
          referenceId: sub.referenceId,
          ...(sub.body === undefined ? {} : { body: sub.body }),
          ...(sub.httpHeaders ? { httpHeaders: sub.httpHeaders } : {}),
        })),
      },
    },
    compositeResponseSchema,
  );
  return new Map(response.compositeResponse.map((sub) => [sub.referenceId, sub]));
}

/** Not a type guard on purpose: a failed subresponse is still a Subresponse whose body names the error. */
export function succeeded(sub: Subresponse | undefined): boolean {
  return sub !== undefined && sub.httpStatusCode < 300;
}

/** A failed subrequest as the error the same standalone request would have raised. */
export function subrequestError(sub: Subresponse | undefined, operation: string): CrmApiError | CrmPreconditionFailedError {
  if (!sub) return errorFromEntries(operation, undefined, [{ errorCode: 'invalidResponse', message: 'no subresponse' }]);
  const entries = z.array(errorEntrySchema).safeParse(sub.body);
  return errorFromEntries(operation, sub.httpStatusCode, entries.success ? entries.data : [{ message: JSON.stringify(sub.body)?.slice(0, 300) }], sub.httpHeaders ?? {});
}

/** A subresponse that halted because an earlier subrequest failed (allOrNone) or a reference did not resolve. */
export function wasHalted(sub: Subresponse | undefined): boolean {
  const entries = z.array(errorEntrySchema).safeParse(sub?.body);
  return entries.success && entries.data.some((entry) => entry.errorCode === 'PROCESSING_HALTED');
}

/** Whether a failed subrequest (or collection result) is a unique-value clash, i.e. the record already exists. */
export function isDuplicateValue(body: unknown, field: string): boolean {
  const entries = z.array(errorEntrySchema).safeParse(body);
  if (!entries.success) return false;
  return entries.data.some(
    (entry) =>
      (entry.errorCode ?? entry.statusCode) === 'DUPLICATE_VALUE' &&
      // Only a clash on the referral key means "already created"; one on another unique field is a real error.
      ((entry.fields ?? []).some((name) => name.toLowerCase() === field.toLowerCase()) || (entry.message ?? '').toLowerCase().includes(field.toLowerCase())),
  );
}
