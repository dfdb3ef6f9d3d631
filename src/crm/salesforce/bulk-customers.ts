import { z } from 'zod';
import type { CustomerProfile, CustomerRefs } from '../connector.ts';
import { createCollecting, ensureCustomersWith, inLists, type ContactRow, type CustomerBulkPort } from '../bulk-customers.ts';
import { COLLECTION_LIMIT } from './bulk-create.ts';
import type { CustomerBodies } from './customers.ts';
import { toId18 } from './ids.ts';
import { apiError, errorEntrySchema } from './salesforce-errors.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import { soqlStringList } from './soql.ts';

/*
 * `ensureCustomers` for Salesforce: the shared bulk matching (`ensureCustomersWith`) over `IN (...)` SOQL queries and
 * sObject Collections creates. Query lists are cut so the GET URL stays well under Salesforce's 16 KB limit.
 */

const MAX_IN_CHARS = 8_000;
const resultSchema = z.array(z.looseObject({ id: z.string().nullish(), success: z.boolean(), errors: z.array(errorEntrySchema).default([]) }));

async function createAll(client: SalesforceClient, sobject: string, bodies: readonly Record<string, unknown>[]): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < bodies.length; start += COLLECTION_LIMIT) {
    const records = bodies.slice(start, start + COLLECTION_LIMIT).map((body) => ({ attributes: { type: sobject }, ...body }));
    // Not keyed: a resend after a lost answer could duplicate, so this call is not retried without an answer.
    const results = await client.sendParsed({ method: 'POST', path: '/composite/sobjects', route: `composite/sobjects ${sobject}`, lane: 'background', body: { allOrNone: false, records } }, resultSchema);
    results.forEach((result, index) => {
      const id = result.id ? toId18(result.id) : undefined;
      if (!result.success || !id) throw apiError(`POST composite/sobjects ${sobject} (record ${start + index + 1})`, 400, result.errors);
      ids.push(id);
    });
  }
  return ids;
}

const id18 = (value: unknown): string | undefined => (typeof value === 'string' ? toId18(value) : undefined);

async function queryEach(client: SalesforceClient, values: readonly string[], soql: (list: string) => string, route: string): Promise<Array<Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const list of inLists(values, MAX_IN_CHARS)) rows.push(...(await client.query(soql(soqlStringList(list)), { route, lane: 'background' })));
  return rows;
}

function salesforcePort(client: SalesforceClient, bodies: CustomerBodies): CustomerBulkPort {
  const contactRow = (row: Record<string, unknown>): ContactRow[] => {
    const id = id18(row.Id);
    return id ? [{ id, accountId: id18(row.AccountId), email: typeof row.Email === 'string' ? row.Email : undefined, firstName: row.FirstName as string | null | undefined, lastName: row.LastName as string | null | undefined }] : [];
  };
  return {
    accountsNamed: async (names) =>
      (await queryEach(client, names, (list) => `SELECT Id, Name, BillingPostalCode FROM Account WHERE Name IN ${list} ORDER BY CreatedDate ASC`, 'Account bulk match')).flatMap((row) => {
        const id = id18(row.Id);
        return id ? [{ id, name: String(row.Name ?? ''), postalCode: typeof row.BillingPostalCode === 'string' ? row.BillingPostalCode : undefined }] : [];
      }),
    createAccounts: (profiles) => createCollecting(profiles, (profile, unfilled) => bodies.accountInsert(profile, unfilled), (rows) => createAll(client, 'Account', rows)),
    contactsByEmail: async (emails) =>
      (await queryEach(client, emails, (list) => `SELECT Id, AccountId, Email FROM Contact WHERE Email IN ${list} ORDER BY CreatedDate ASC`, 'Contact bulk match')).flatMap(contactRow),
    contactsUnder: async (accountIds) =>
      (await queryEach(client, accountIds, (list) => `SELECT Id, AccountId, FirstName, LastName FROM Contact WHERE AccountId IN ${list} ORDER BY CreatedDate ASC`, 'Contact bulk match')).flatMap(contactRow),
    createContacts: (items) => createCollecting(items, (item, unfilled) => bodies.contactInsert(item.contact, item.accountId, unfilled), (rows) => createAll(client, 'Contact', rows)),
  };
}

export async function ensureCustomers(client: SalesforceClient, bodies: CustomerBodies, profiles: readonly CustomerProfile[]): Promise<CustomerRefs[]> {
  return ensureCustomersWith(salesforcePort(client, bodies), profiles);
}
