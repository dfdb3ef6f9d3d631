import type { DynamicsWebApi } from 'dynamics-web-api';
import type { DataverseClient } from './dataverse-client.ts';
import { readFailure, toCrmApiError } from './dataverse-errors.ts';
import type { CrmApiError } from '../connector.ts';

/*
 * OData `$batch` through dynamics-web-api ("Execute batch operations using the Web API"): at most 1,000 requests per
 * batch; a change set is one transaction, all or nothing; with `Prefer: odata.continue-on-error` and no change set,
 * each request succeeds or fails on its own. The library's batch mode is state of the instance (startBatch …
 * executeBatch), so every batch runs on its own instance: a sync running meanwhile on the shared one is never swept
 * into it.
 */

/** "Execute batch operations using the Web API": requests per batch. */
export const BATCH_LIMIT = 1000;

/** One request's outcome: what the library parsed (an id, a row) or the failure. */
export type BatchPartResult = { ok: true; value: unknown } | { ok: false; error: CrmApiError };

/**
 * Runs the requests `queue` adds as one `$batch`. `changeSet`: one transaction, and a failure of any request fails
 * them all (every part answers that failure). Otherwise each part answers for itself.
 */
export async function runBatch(client: DataverseClient, options: { route: string; changeSet: boolean; count: number }, queue: (api: DynamicsWebApi) => void): Promise<BatchPartResult[]> {
  if (options.count > BATCH_LIMIT) throw new RangeError(`a $batch holds at most ${BATCH_LIMIT} requests (asked for ${options.count})`);
  const operation = `POST $batch ${options.route}`;
  // A change set either committed or not: resending one refused before processing (429, 503) is safe, as for any write.
  const raw = await client.run({ method: 'POST', route: `$batch ${options.route}`, successStatus: 200 }, async (signal) => {
    const api = client.api.initializeInstance();
    api.startBatch();
    queue(api);
    try {
      return await api.executeBatch(options.changeSet ? { signal } : { signal, inChangeSet: false, continueOnError: true });
    } catch (error) {
      // A failed change set rejects with the failing parts' errors (an array); a failure of the batch itself with one.
      if (Array.isArray(error) && options.changeSet) return { rolledBack: error };
      throw error;
    }
  });
  if (!Array.isArray(raw) && typeof raw === 'object' && raw !== null && 'rolledBack' in raw) {
    const failures = (raw as { rolledBack: unknown[] }).rolledBack;
    const error = toCrmApiError(readFailure(failures[0]), `${operation} (change set rolled back)`);
    return Array.from({ length: options.count }, () => ({ ok: false, error }));
  }
  const results = Array.isArray(raw) ? raw : [];
  return Array.from({ length: options.count }, (_, index): BatchPartResult => {
    const value: unknown = results[index];
    if (value instanceof Error || (typeof value === 'object' && value !== null && 'status' in value && 'error' in value)) {
      return { ok: false, error: toCrmApiError(readFailure(value), `${operation} (request ${index + 1})`) };
    }
    return { ok: true, value };
  });
}
