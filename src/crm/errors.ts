/* The errors every connector throws, apart from the connector port (see entities.ts for why). */

/** Thrown by `update` when the record changed since `ifVersion`: the engine re-reads and re-plans. */
export class CrmPreconditionFailedError extends Error {
  override readonly name = 'CrmPreconditionFailedError';
  readonly retryable = true;
}

/** A CRM API rejection. `retryable` false sends the job to dead letters with the CRM's message. */
export class CrmApiError extends Error {
  override readonly name = 'CrmApiError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
