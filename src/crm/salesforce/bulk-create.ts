import { z } from 'zod';
import { CrmApiError, type BulkCreateItem, type BulkCreateResult, type CrmEntityName } from '../connector.ts';
import { composite, isDuplicateValue, subrequestError, succeeded } from './composite.ts';
import { queryPath } from './customers.ts';
import { FIELDS } from './custom-fields.ts';
import { toId18 } from './ids.ts';
import { sobjectFor } from './objects.ts';
import { apiError, errorEntrySchema } from './salesforce-errors.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import { soqlStringList } from './soql.ts';
import { isoInstant } from './wire-values.ts';

/*
 * Backfills: sObject Collections create (`POST /composite/sobjects`, REST API "sObject Collections") — up to 200
 * records per call, one call of the daily allocation each, `allOrNone: false` so one bad record does not sink its 199
 * neighbours.
 *
 * Idempotent without reading first: Referral_Identifier__c is a unique external id, so a record created by an earlier
 * (crashed or retried) run fails with DUPLICATE_VALUE on that field instead of being created twice, and nothing that
 * exists is ever overwritten — a seller's newer edit stays. The create goes in one `/composite` call with a query of
 * the batch's referral ids, which answers the new records' versions and the ids of those that already existed: one
 * call of the daily allocation per 200. In an org where the field is not unique (hand-made, or Microsoft's package, "Co-sell
 * connector for Salesforce CRM - overview" lists it as External ID without Unique), the existing ones are looked up
 * before each batch instead: two calls per 200.
 */

export const COLLECTION_LIMIT = 200;

const resultSchema = z.array(z.looseObject({ id: z.string().nullish(), success: z.boolean(), errors: z.array(errorEntrySchema).default([]) }));
const rowsSchema = z.looseObject({ done: z.boolean(), records: z.array(z.record(z.string(), z.unknown())) });

export type BodyBuilder = (item: BulkCreateItem) => Promise<Record<string, unknown>>;

export async function createMany(
  client: SalesforceClient,
  entity: CrmEntityName,
  items: readonly BulkCreateItem[],
  options: { uniqueKey: boolean; buildBody: BodyBuilder },
): Promise<BulkCreateResult[]> {
  const info = sobjectFor(entity);
  const results: BulkCreateResult[] = [];
  for (let start = 0; start < items.length; start += COLLECTION_LIMIT) {
    const batch = items.slice(start, start + COLLECTION_LIMIT);
    const known = options.uniqueKey ? new Map<string, string>() : await existingIds(client, info.sobject, batch.map((item) => item.referralId));
    const pending = batch.filter((item) => !known.has(item.referralId.toLowerCase()));
    const outcome = new Map<string, BulkCreateResult>();
    for (const item of batch) {
      const id = known.get(item.referralId.toLowerCase());
      if (id) outcome.set(item.referralId, { referralId: item.referralId, outcome: 'existing', ref: { entity, id } });
    }
    if (pending.length > 0) {
      const records = await Promise.all(pending.map(async (item) => ({ attributes: { type: info.sobject }, ...(await options.buildBody(item)) })));
      const sent = await createAndRead(client, info.sobject, records, pending.map((item) => item.referralId));
      const duplicates: BulkCreateItem[] = [];
      pending.forEach((item, index) => {
        const result = sent.results[index];
        const id = result?.id ? toId18(result.id) : undefined;
        if (result?.success && id) {
          outcome.set(item.referralId, { referralId: item.referralId, outcome: 'created', ref: { entity, id } });
        } else if (result && isDuplicateValue(result.errors, FIELDS.referralIdentifier)) {
          duplicates.push(item);
        } else {
          const error = apiError(`POST composite/sobjects ${info.sobject}`, 400, result?.errors ?? [{ message: 'no result for this record' }]);
          outcome.set(item.referralId, { referralId: item.referralId, outcome: 'failed', error });
        }
      });
      if (duplicates.length > 0) {
        const found = sent.rows ? byReferral(sent.rows) : await existingIds(client, info.sobject, duplicates.map((item) => item.referralId));
        for (const item of duplicates) {
          const id = found.get(item.referralId.toLowerCase());
          outcome.set(
            item.referralId,
            id
              ? { referralId: item.referralId, outcome: 'existing', ref: { entity, id } }
              : { referralId: item.referralId, outcome: 'failed', error: new CrmApiError(`DUPLICATE_VALUE for referral ${item.referralId}, but no ${info.sobject} holds it`, 400, 'DUPLICATE_VALUE', true) },
          );
        }
      }
      if (sent.rows) {
        setVersions(sent.rows, outcome);
        for (const item of batch) results.push(outcome.get(item.referralId) ?? { referralId: item.referralId, outcome: 'failed', error: new CrmApiError('no result', undefined, 'invalidResponse', true) });
        continue;
      }
    }
    await addVersions(client, info.sobject, outcome);
    for (const item of batch) results.push(outcome.get(item.referralId) ?? { referralId: item.referralId, outcome: 'failed', error: new CrmApiError('no result', undefined, 'invalidResponse', true) });
  }
  return results;
}

/**
 * The collection create and, in the same `/composite` call (one call of the allocation; "Composite" accepts sObject
 * Collections and Query subrequests, up to five of them per call), the query of every record holding one of the batch's
 * referral ids: the created records' versions, which a collection create does not answer, and the ids of those that
 * already existed (DUPLICATE_VALUE). Rows are undefined when the query part failed: the caller then asks separately.
 */
async function createAndRead(
  client: SalesforceClient,
  sobject: string,
  records: ReadonlyArray<Record<string, unknown>>,
  referralIds: readonly string[],
): Promise<{ results: z.output<typeof resultSchema>; rows: Array<Record<string, unknown>> | undefined }> {
  const soql = `SELECT Id, SystemModstamp, ${FIELDS.referralIdentifier} FROM ${sobject} WHERE ${FIELDS.referralIdentifier} IN ${soqlStringList(referralIds)} ORDER BY CreatedDate ASC`;
  const responses = await composite(
    client,
    [
      { method: 'POST', path: '/composite/sobjects', referenceId: 'created', body: { allOrNone: false, records } },
      { method: 'GET', path: queryPath(soql), referenceId: 'read' },
    ],
    // Keyed by the unique referral id, so a resend after a lost answer creates nothing twice.
    { allOrNone: false, route: `${sobject} bulk create`, idempotent: true, lane: 'background' },
  );
  const created = responses.get('created');
  if (!succeeded(created)) throw subrequestError(created, `POST composite/sobjects ${sobject}`);
  const parsed = resultSchema.safeParse(created?.body);
  if (!parsed.success) throw new CrmApiError(`POST composite/sobjects ${sobject} answered no result list`, undefined, 'invalidResponse', true);
  const results = parsed.data;
  const read = rowsSchema.safeParse(responses.get('read')?.body);
  return { results, rows: succeeded(responses.get('read')) && read.success && read.data.done ? read.data.records : undefined };
}

/** Referral id (lower case) → record id, oldest record first (rows in CreatedDate order). */
function byReferral(rows: ReadonlyArray<Record<string, unknown>>): Map<string, string> {
  const found = new Map<string, string>();
  for (const row of rows) {
    const key = row[FIELDS.referralIdentifier];
    const id = typeof row.Id === 'string' ? toId18(row.Id) : undefined;
    if (typeof key === 'string' && id && !found.has(key.toLowerCase())) found.set(key.toLowerCase(), id);
  }
  return found;
}

function setVersions(rows: ReadonlyArray<Record<string, unknown>>, outcome: Map<string, BulkCreateResult>): void {
  const versions = new Map(rows.map((row) => [typeof row.Id === 'string' ? toId18(row.Id) : undefined, typeof row.SystemModstamp === 'string' ? isoInstant(row.SystemModstamp) : null]));
  for (const result of outcome.values()) {
    if (result.outcome !== 'created') continue;
    const version = versions.get(result.ref?.id);
    if (version) result.version = version;
  }
}

/**
 * The created records' versions (SystemModstamp, as a read reports it), one query per batch: a collection create
 * answers ids only, and a link without a version would make the first notification or change poll after the
 * backfill re-sync every pair.
 */
async function addVersions(client: SalesforceClient, sobject: string, outcome: Map<string, BulkCreateResult>): Promise<void> {
  const created = [...outcome.values()].filter((result) => result.outcome === 'created' && result.ref);
  if (created.length === 0) return;
  const rows = await client.query(`SELECT Id, SystemModstamp FROM ${sobject} WHERE Id IN ${soqlStringList(created.map((result) => result.ref?.id ?? ''))}`, { route: `${sobject} versions`, lane: 'background' });
  const versions = new Map(rows.map((row) => [typeof row.Id === 'string' ? toId18(row.Id) : undefined, typeof row.SystemModstamp === 'string' ? isoInstant(row.SystemModstamp) : null]));
  for (const result of created) {
    const version = versions.get(result.ref?.id);
    if (version) result.version = version;
  }
}

/** Referral id (lower case: the external id compares case-insensitively) → record id, oldest record first. */
async function existingIds(client: SalesforceClient, sobject: string, referralIds: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (referralIds.length === 0) return found;
  const rows = await client.query(`SELECT Id, ${FIELDS.referralIdentifier} FROM ${sobject} WHERE ${FIELDS.referralIdentifier} IN ${soqlStringList(referralIds)} ORDER BY CreatedDate ASC`, {
    route: `${sobject} by referral ids`,
    lane: 'background',
  });
  for (const row of rows) {
    const key = row[FIELDS.referralIdentifier];
    const id = typeof row.Id === 'string' ? toId18(row.Id) : undefined;
    if (typeof key === 'string' && id && !found.has(key.toLowerCase())) found.set(key.toLowerCase(), id);
  }
  return found;
}
