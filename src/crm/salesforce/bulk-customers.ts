import { z } from 'zod';
import type { CrmRecordRef, CustomerContact, CustomerProfile, CustomerRefs } from '../connector.ts';
import { CrmApiError } from '../connector.ts';
import { COLLECTION_LIMIT } from './bulk-create.ts';
import { accountBody, contactBody } from './customers.ts';
import type { DescribeCache } from './describe.ts';
import { toId18 } from './ids.ts';
import { apiError, errorEntrySchema } from './salesforce-errors.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import { soqlStringList } from './soql.ts';

/*
 * `ensureCustomer` for a whole backfill: the same matching rules (account by name + postal code, case-insensitive and
 * exact; contact by email anywhere, one under the account preferred; else by first + last name under the account), but
 * looked up with `IN (...)` queries and created with sObject Collections — a handful of calls per 200 referrals instead
 * of one or two per referral. Query lists are cut so the GET URL stays well under Salesforce's 16 KB limit.
 */

const MAX_IN_CHARS = 8_000;
const resultSchema = z.array(z.looseObject({ id: z.string().nullish(), success: z.boolean(), errors: z.array(errorEntrySchema).default([]) }));

const norm = (value: string | undefined | null): string => (value ?? '').trim().toLowerCase();
const present = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

/** Splits values into IN lists whose literal text stays under the limit. */
function inLists(values: readonly string[]): string[][] {
  const lists: string[][] = [];
  let current: string[] = [];
  let length = 0;
  for (const value of values) {
    const added = value.length * 3 + 4;
    if (current.length > 0 && length + added > MAX_IN_CHARS) {
      lists.push(current);
      current = [];
      length = 0;
    }
    current.push(value);
    length += added;
  }
  if (current.length > 0) lists.push(current);
  return lists;
}

async function createAll(client: SalesforceClient, sobject: string, bodies: readonly Record<string, unknown>[]): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < bodies.length; start += COLLECTION_LIMIT) {
    const records = bodies.slice(start, start + COLLECTION_LIMIT).map((body) => ({ attributes: { type: sobject }, ...body }));
    // Not keyed: a resend after a lost answer could duplicate, so this call is not retried without an answer.
    const results = await client.sendParsed({ method: 'POST', path: '/composite/sobjects', route: `composite/sobjects ${sobject}`, body: { allOrNone: false, records } }, resultSchema);
    results.forEach((result, index) => {
      const id = result.id ? toId18(result.id) : undefined;
      if (!result.success || !id) throw apiError(`POST composite/sobjects ${sobject} (record ${start + index + 1})`, 400, result.errors);
      ids.push(id);
    });
  }
  return ids;
}

export async function ensureCustomers(client: SalesforceClient, describe: DescribeCache, profiles: readonly CustomerProfile[]): Promise<CustomerRefs[]> {
  for (const profile of profiles) {
    if (!present(profile.name)) throw new CrmApiError('a customer profile has no company name to match or create an account with', undefined, 'invalidCustomer', false);
  }
  const accountKey = (name: string, postal: string | undefined) => `${norm(name)}\u0000${norm(postal)}`;

  // Accounts: one query per IN list of names, matched on name + postal code here; oldest first wins.
  const accounts = new Map<string, string>();
  for (const names of inLists([...new Set(profiles.map((profile) => profile.name.trim()))])) {
    const rows = await client.query(`SELECT Id, Name, BillingPostalCode FROM Account WHERE Name IN ${soqlStringList(names)} ORDER BY CreatedDate ASC`, { route: 'Account bulk match' });
    for (const row of rows) {
      const key = accountKey(String(row.Name ?? ''), typeof row.BillingPostalCode === 'string' ? row.BillingPostalCode : undefined);
      const id = typeof row.Id === 'string' ? toId18(row.Id) : undefined;
      if (id && !accounts.has(key)) accounts.set(key, id);
    }
  }
  const created: Array<CrmRecordRef[]> = profiles.map(() => []);
  const missing = new Map<string, { profile: CustomerProfile; indexes: number[] }>();
  profiles.forEach((profile, index) => {
    const key = accountKey(profile.name, profile.postalCode);
    if (accounts.has(key)) return;
    const entry = missing.get(key) ?? { profile, indexes: [] };
    entry.indexes.push(index);
    missing.set(key, entry);
  });
  const newAccounts = [...missing.entries()];
  const bodies = await Promise.all(newAccounts.map(([, entry]) => accountBody(describe, entry.profile)));
  const accountIds = await createAll(client, 'Account', bodies);
  newAccounts.forEach(([key, entry], position) => {
    const id = accountIds[position] as string;
    accounts.set(key, id);
    // The referral that caused the create reports it; others sharing the new account just use it.
    created[entry.indexes[0] ?? 0]?.push({ entity: 'account', id });
  });
  const accountOf = (profile: CustomerProfile): string => accounts.get(accountKey(profile.name, profile.postalCode)) as string;

  // Contacts by email: one query per IN list; by name only under a known account.
  const emails = [...new Set(profiles.flatMap((profile) => profile.contacts.map((contact) => contact.email?.trim()).filter(present)))];
  const byEmail = new Map<string, Array<{ id: string; accountId: string | undefined }>>();
  for (const list of inLists(emails)) {
    const rows = await client.query(`SELECT Id, AccountId, Email FROM Contact WHERE Email IN ${soqlStringList(list)} ORDER BY CreatedDate ASC`, { route: 'Contact bulk match' });
    for (const row of rows) {
      const id = typeof row.Id === 'string' ? toId18(row.Id) : undefined;
      if (!id) continue;
      const entries = byEmail.get(norm(String(row.Email))) ?? [];
      entries.push({ id, accountId: typeof row.AccountId === 'string' ? toId18(row.AccountId) : undefined });
      byEmail.set(norm(String(row.Email)), entries);
    }
  }
  const nameOnly = profiles.flatMap((profile) => profile.contacts.filter((contact) => !present(contact.email) && (present(contact.lastName) || present(contact.firstName))).map(() => accountOf(profile)));
  const byName = new Map<string, string>();
  for (const list of inLists([...new Set(nameOnly)])) {
    const rows = await client.query(`SELECT Id, AccountId, FirstName, LastName FROM Contact WHERE AccountId IN ${soqlStringList(list)} ORDER BY CreatedDate ASC`, { route: 'Contact bulk match' });
    for (const row of rows) {
      const key = `${toId18(String(row.AccountId))}\u0000${norm(row.FirstName as string | null)}\u0000${norm(row.LastName as string | null)}`;
      if (typeof row.Id === 'string' && !byName.has(key)) byName.set(key, toId18(row.Id) ?? row.Id);
    }
  }

  const contactIds: Array<Array<string | undefined>> = profiles.map((profile) => profile.contacts.map(() => undefined));
  const toCreate: Array<{ index: number; position: number; contact: CustomerContact; key: string }> = [];
  const pendingByKey = new Map<string, number>();
  profiles.forEach((profile, index) => {
    const accountId = accountOf(profile);
    profile.contacts.forEach((contact, position) => {
      if (!present(contact.email) && !present(contact.lastName) && !present(contact.firstName)) return;
      const key = present(contact.email) ? `email\u0000${norm(contact.email)}` : `${accountId}\u0000${norm(contact.firstName)}\u0000${norm(contact.lastName)}`;
      const matches = present(contact.email) ? byEmail.get(norm(contact.email)) : undefined;
      const found = present(contact.email) ? (matches?.find((match) => match.accountId === accountId) ?? matches?.[0])?.id : byName.get(key);
      const slots = contactIds[index];
      if (found && slots) slots[position] = found;
      else if (!pendingByKey.has(key)) {
        pendingByKey.set(key, toCreate.length);
        toCreate.push({ index, position, contact, key });
      }
    });
  });
  const newContacts = await createAll(client, 'Contact', toCreate.map((item) => contactBody(item.contact, accountOf(profiles[item.index] as CustomerProfile))));
  toCreate.forEach((item, offset) => created[item.index]?.push({ entity: 'contact', id: newContacts[offset] as string }));
  profiles.forEach((profile, index) => {
    const accountId = accountOf(profile);
    profile.contacts.forEach((contact, position) => {
      if (contactIds[index]?.[position] !== undefined) return;
      const key = present(contact.email) ? `email\u0000${norm(contact.email)}` : `${accountId}\u0000${norm(contact.firstName)}\u0000${norm(contact.lastName)}`;
      const pending = pendingByKey.get(key);
      const slots = contactIds[index];
      if (pending !== undefined && slots) slots[position] = newContacts[pending];
    });
  });

  return profiles.map((profile, index) => {
    const contacts: CrmRecordRef[] = [];
    for (const id of contactIds[index] ?? []) if (id && !contacts.some((ref) => ref.id === id)) contacts.push({ entity: 'contact', id });
    return { account: { entity: 'account', id: accountOf(profile) }, contacts, created: created[index] ?? [] };
  });
}
