import { z } from 'zod';
import { CrmApiError, type BulkCreateItem, type BulkCreateResult, type CrmEntityName, type CustomerContact, type CustomerProfile } from '../connector.ts';
import { createCollecting, inLists, type ContactRow, type CustomerBulkPort } from '../bulk-customers.ts';
import { runBatch, type BatchPartResult } from './batch.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { alternateKey, parseResponse, stringLiteral } from './odata.ts';
import { tableFor } from './tables.ts';
import type { CustomerBodies } from './customers.ts';

/*
 * Backfills into Dataverse: existing records looked up for a whole batch with `Microsoft.Dynamics.CRM.In` ("Query data
 * using the Web API", query functions), and creates sent as one `$batch` change set per batch ("Execute batch
 * operations using the Web API"). Opportunities and leads are created by alternate key with `If-None-Match: *`, as one
 * at a time, so a record an earlier (crashed) run made is never created twice nor overwritten; a change set that
 * fails (a record created meanwhile, one invalid row) is resent request by request with continue-on-error, and the
 * 412s found then are looked up. Every create answers its ETag (return=representation), so the link starts with the
 * record's version and the next sync of the pair needs no read to know nothing changed.
 */

/** Referrals per batch: one lookup and one `$batch` each, far under the 1,000 requests a batch may hold. */
export const BULK_CHUNK = 200;
/** Characters of `In` values per query: Dataverse URLs may be 32 KB long ("Compose HTTP requests"); room to spare. */
const MAX_IN_CHARS = 16_000;

const listSchema = z.looseObject({ value: z.array(z.record(z.string(), z.unknown())) });
const createdSchema = z.looseObject({ '@odata.etag': z.string() });

const inFilter = (column: string, values: readonly string[]): string =>
  `Microsoft.Dynamics.CRM.In(PropertyName=${stringLiteral(column)},PropertyValues=[${values.map(stringLiteral).join(',')}])`;

/** A lookup's value among GUIDs: `or` of `_x_value eq id`, the lookup filter form the Web API documents. */
const lookupFilter = (column: string) => (values: readonly string[]): string => values.map((id) => `_${column}_value eq ${id}`).join(' or ');

interface WhereIn {
  entitySet: string;
  select: string[];
  values: readonly string[];
  /** The filter for one list of values (default: `column` In the list). */
  column?: string;
  filter?: (values: readonly string[]) => string;
}

/** Rows of `entitySet` matching any of `values`, oldest first, in as few GETs as the URL length allows. */
async function rowsWhereIn(client: DataverseClient, query: WhereIn): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  const filterOf = query.filter ?? ((values: readonly string[]) => inFilter(query.column ?? '', values));
  for (const list of inLists(query.values, MAX_IN_CHARS)) {
    // No $orderby: past 2,000 characters dynamics-web-api sends a GET inside a $batch, whose request line cannot carry
    // the space of `createdon asc`; the rows are put oldest first here instead.
    const raw = await client.run({ method: 'GET', route: `${query.entitySet} bulk match` }, (signal) =>
      client.api.retrieveMultiple({ collection: query.entitySet, select: [...query.select, 'createdon'], filter: filterOf(list), signal }),
    );
    rows.push(...parseResponse(listSchema, raw, `GET ${query.entitySet}`).value);
  }
  const createdOn = (row: Record<string, unknown>): string => str(row.createdon) ?? '';
  return rows.sort((a, b) => createdOn(a).localeCompare(createdOn(b)));
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const lower = (value: unknown): string | undefined => str(value)?.toLowerCase();

export type BulkBodyBuilder = (entity: CrmEntityName, item: BulkCreateItem) => Promise<Record<string, unknown>>;

export class DynamicsBulk {
  constructor(
    private readonly client: DataverseClient,
    private readonly referralColumn: string,
  ) {}

  async createMany(entity: CrmEntityName, items: readonly BulkCreateItem[], body: BulkBodyBuilder): Promise<BulkCreateResult[]> {
    const results: BulkCreateResult[] = [];
    for (let start = 0; start < items.length; start += BULK_CHUNK) results.push(...(await this.createChunk(entity, items.slice(start, start + BULK_CHUNK), body)));
    return results;
  }

  private async createChunk(entity: CrmEntityName, items: readonly BulkCreateItem[], body: BulkBodyBuilder): Promise<BulkCreateResult[]> {
    const outcome = new Map<string, BulkCreateResult>();
    const existing = await this.existing(entity, items.map((item) => item.referralId));
    // Closing a record is a second step after the create (statecode is not valid on create): left to the one-at-a-time path.
    const closed = (item: BulkCreateItem) => item.values['@state'] !== undefined && item.values['@state'] !== 'open';
    for (const item of items) {
      const id = existing.get(item.referralId.toLowerCase());
      if (id) outcome.set(item.referralId, { referralId: item.referralId, outcome: 'existing', ref: { entity, id } });
      else if (closed(item)) outcome.set(item.referralId, { referralId: item.referralId, outcome: 'failed', error: new CrmApiError('a closed record is not created in bulk', undefined, 'bulkSkipped', true) });
    }
    const pending = items.filter((item) => !outcome.has(item.referralId));
    if (pending.length > 0) {
      const bodies = await Promise.all(pending.map((item) => body(entity, item)));
      let parts = await this.sendCreates(entity, pending, bodies, true);
      if (parts.every((part) => !part.ok)) parts = await this.sendCreates(entity, pending, bodies, false);
      const conflicts: BulkCreateItem[] = [];
      pending.forEach((item, index) => {
        const part = parts[index];
        if (part?.ok) outcome.set(item.referralId, this.created(entity, item.referralId, part.value));
        else if (part?.error.status === 412) conflicts.push(item);
        else outcome.set(item.referralId, { referralId: item.referralId, outcome: 'failed', error: part?.error });
      });
      const found = conflicts.length > 0 ? await this.existing(entity, conflicts.map((item) => item.referralId)) : new Map<string, string>();
      for (const item of conflicts) {
        const id = found.get(item.referralId.toLowerCase());
        outcome.set(item.referralId, id ? { referralId: item.referralId, outcome: 'existing', ref: { entity, id } } : { referralId: item.referralId, outcome: 'failed', error: new CrmApiError(`412 for referral ${item.referralId}, but no ${entity} holds it`, 412, undefined, true) });
      }
    }
    return items.map((item) => outcome.get(item.referralId) ?? { referralId: item.referralId, outcome: 'failed', error: new CrmApiError('no result', undefined, 'invalidResponse', true) });
  }

  private sendCreates(entity: CrmEntityName, items: readonly BulkCreateItem[], bodies: ReadonlyArray<Record<string, unknown>>, changeSet: boolean): Promise<BatchPartResult[]> {
    const table = tableFor(entity);
    return runBatch(this.client, { route: `${table.entitySet} keyed creates`, changeSet, count: items.length }, (api) => {
      items.forEach((item, index) => {
        void api.upsert({ collection: table.entitySet, key: alternateKey(this.referralColumn, item.referralId), data: bodies[index] ?? {}, ifnonematch: '*', returnRepresentation: true, select: [table.primaryId] });
      });
    });
  }

  private created(entity: CrmEntityName, referralId: string, value: unknown): BulkCreateResult {
    const table = tableFor(entity);
    const row = parseResponse(createdSchema.and(z.record(z.string(), z.unknown())), value, `PATCH ${table.entitySet}`);
    const id = lower(row[table.primaryId]);
    if (!id) return { referralId, outcome: 'failed', error: new CrmApiError(`Dataverse PATCH ${table.entitySet} returned no ${table.primaryId}`, undefined, 'invalidResponse', true) };
    return { referralId, outcome: 'created', ref: { entity, id }, version: row['@odata.etag'] };
  }

  /** Referral id (lower case) → record id, oldest record first. */
  private async existing(entity: CrmEntityName, referralIds: readonly string[]): Promise<Map<string, string>> {
    const table = tableFor(entity);
    const rows = await rowsWhereIn(this.client, { entitySet: table.entitySet, column: this.referralColumn, select: [table.primaryId, this.referralColumn], values: referralIds });
    const found = new Map<string, string>();
    for (const row of rows) {
      const key = lower(row[this.referralColumn]);
      const id = lower(row[table.primaryId]);
      if (key && id && !found.has(key)) found.set(key, id);
    }
    return found;
  }

  /** Accounts and contacts for `ensureCustomersWith`: `In` queries, creates in one change set per kind. */
  customers(bodies: CustomerBodies): CustomerBulkPort {
    const contactRow = (row: Record<string, unknown>): ContactRow[] => {
      const id = lower(row.contactid);
      return id ? [{ id, accountId: lower(row._parentcustomerid_value), email: str(row.emailaddress1), firstName: str(row.firstname), lastName: str(row.lastname) }] : [];
    };
    return {
      accountsNamed: async (names) =>
        (await rowsWhereIn(this.client, { entitySet: 'accounts', column: 'name', select: ['accountid', 'name', 'address1_postalcode'], values: names })).flatMap((row) => {
          const id = lower(row.accountid);
          return id ? [{ id, name: str(row.name) ?? '', postalCode: str(row.address1_postalcode) }] : [];
        }),
      createAccounts: (profiles: readonly CustomerProfile[]) => createCollecting(profiles, (profile, unfilled) => bodies.accountBody(profile, unfilled), (rows) => this.createAll('accounts', rows)),
      contactsByEmail: async (emails) =>
        (await rowsWhereIn(this.client, { entitySet: 'contacts', column: 'emailaddress1', select: ['contactid', '_parentcustomerid_value', 'emailaddress1'], values: emails })).flatMap(contactRow),
      contactsUnder: async (accountIds) =>
        (await rowsWhereIn(this.client, { entitySet: 'contacts', filter: lookupFilter('parentcustomerid'), select: ['contactid', '_parentcustomerid_value', 'firstname', 'lastname'], values: accountIds })).flatMap(contactRow),
      createContacts: (items: ReadonlyArray<{ contact: CustomerContact; accountId: string }>) =>
        createCollecting(items, (item, unfilled) => bodies.contactBody(item.contact, item.accountId, unfilled), (rows) => this.createAll('contacts', rows)),
    };
  }

  /** Plain creates in change sets of up to BULK_CHUNK: all of a set or none, so a failure leaves nothing half made. */
  private async createAll(entitySet: string, bodies: ReadonlyArray<Record<string, unknown>>): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < bodies.length; start += BULK_CHUNK) {
      const chunk = bodies.slice(start, start + BULK_CHUNK);
      const parts = await runBatch(this.client, { route: `${entitySet} creates`, changeSet: true, count: chunk.length }, (api) => {
        for (const data of chunk) void api.create({ collection: entitySet, data });
      });
      for (const part of parts) {
        if (!part.ok) throw part.error;
        const id = lower(part.value);
        if (!id) throw new CrmApiError(`Dataverse POST ${entitySet} returned no record id`, undefined, 'invalidResponse', false);
        ids.push(id);
      }
    }
    return ids;
  }
}
