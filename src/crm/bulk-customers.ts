import type { CreatedCustomerRecord, CrmEntityName, CrmRecordRef, CustomerContact, CustomerProfile, CustomerRefs, UnfilledLookup } from './connector.ts';
import { CrmApiError } from './connector.ts';

/*
 * `ensureCustomer` for a whole backfill, whatever the CRM: the same matching rules as one at a time (account by name +
 * postal code, case-insensitive and exact; contact by email anywhere, one under the account preferred; else by first +
 * last name under the account), but looked up with a few list queries and created in bulk — a handful of calls per
 * batch of referrals instead of one or two per referral. Each CRM supplies the queries and bulk creates
 * (`CustomerBulkPort`); ids it returns must be normalized (one spelling per record) so they compare equal here.
 */

export interface AccountRow {
  id: string;
  name: string;
  postalCode: string | undefined;
}

export interface ContactRow {
  id: string;
  accountId: string | undefined;
  email?: string | undefined;
  firstName?: string | null | undefined;
  lastName?: string | null | undefined;
}

/** A record the port created, with the lookup columns its create left empty. */
export interface CreatedRow {
  id: string;
  unfilled: UnfilledLookup[];
}

/**
 * Builds each item's create body, collecting the lookups it leaves empty, creates them all with `create` and answers
 * the created rows in order: how a port implements `createAccounts` and `createContacts`.
 */
export async function createCollecting<T>(
  items: readonly T[],
  body: (item: T, unfilled: UnfilledLookup[]) => Promise<Record<string, unknown>>,
  create: (bodies: Array<Record<string, unknown>>) => Promise<string[]>,
): Promise<CreatedRow[]> {
  const unfilled = items.map((): UnfilledLookup[] => []);
  const ids = await create(await Promise.all(items.map((item, index) => body(item, unfilled[index] ?? []))));
  return ids.map((id, index) => ({ id, unfilled: unfilled[index] ?? [] }));
}

/** The audit's record of a create: its ref, and the lookups it left empty when there are any. */
export function createdRecord(entity: CrmEntityName, id: string, unfilled: readonly UnfilledLookup[]): CreatedCustomerRecord {
  return unfilled.length > 0 ? { entity, id, unfilled: [...unfilled] } : { entity, id };
}

export interface CustomerBulkPort {
  /** Accounts with any of these names, oldest first. */
  accountsNamed(names: readonly string[]): Promise<AccountRow[]>;
  /** Creates one account per profile, answering them in order. */
  createAccounts(profiles: readonly CustomerProfile[]): Promise<CreatedRow[]>;
  /** Contacts with any of these emails, oldest first. */
  contactsByEmail(emails: readonly string[]): Promise<ContactRow[]>;
  /** Contacts filed under any of these accounts, oldest first. */
  contactsUnder(accountIds: readonly string[]): Promise<ContactRow[]>;
  /** Creates the contacts under their accounts, answering them in order. */
  createContacts(items: ReadonlyArray<{ contact: CustomerContact; accountId: string }>): Promise<CreatedRow[]>;
}

const norm = (value: string | undefined | null): string => (value ?? '').trim().toLowerCase();
const present = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';
const accountKey = (name: string, postal: string | undefined): string => `${norm(name)}\u0000${norm(postal)}`;

/** Splits values into lists whose literal text (quoted, escaped, separated) stays under `maxChars`. */
export function inLists(values: readonly string[], maxChars: number): string[][] {
  const lists: string[][] = [];
  let current: string[] = [];
  let length = 0;
  for (const value of values) {
    const added = value.length * 3 + 4;
    if (current.length > 0 && length + added > maxChars) {
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

interface Accounts {
  accountOf: (profile: CustomerProfile) => string;
  created: CreatedCustomerRecord[][];
}

async function ensureAccounts(port: CustomerBulkPort, profiles: readonly CustomerProfile[]): Promise<Accounts> {
  const accounts = new Map<string, string>();
  for (const row of await port.accountsNamed([...new Set(profiles.map((profile) => profile.name.trim()))])) {
    const key = accountKey(row.name, row.postalCode);
    if (!accounts.has(key)) accounts.set(key, row.id);
  }
  const created: CreatedCustomerRecord[][] = profiles.map(() => []);
  const missing = new Map<string, { profile: CustomerProfile; indexes: number[] }>();
  profiles.forEach((profile, index) => {
    const key = accountKey(profile.name, profile.postalCode);
    if (accounts.has(key)) return;
    const entry = missing.get(key) ?? { profile, indexes: [] };
    entry.indexes.push(index);
    missing.set(key, entry);
  });
  const newAccounts = [...missing.entries()];
  const rows = newAccounts.length > 0 ? await port.createAccounts(newAccounts.map(([, entry]) => entry.profile)) : [];
  newAccounts.forEach(([key, entry], position) => {
    const row = rows[position] as CreatedRow;
    accounts.set(key, row.id);
    // The referral that caused the create reports it; others sharing the new account just use it.
    created[entry.indexes[0] ?? 0]?.push(createdRecord('account', row.id, row.unfilled));
  });
  return { accountOf: (profile) => accounts.get(accountKey(profile.name, profile.postalCode)) as string, created };
}

function contactKey(contact: CustomerContact, accountId: string): string {
  return present(contact.email) ? `email\u0000${norm(contact.email)}` : `${accountId}\u0000${norm(contact.firstName)}\u0000${norm(contact.lastName)}`;
}

const hasIdentity = (contact: CustomerContact): boolean => present(contact.email) || present(contact.lastName) || present(contact.firstName);

/** Existing contacts by email (any account) and by name under an account, keyed as `contactKey`. */
async function knownContacts(port: CustomerBulkPort, profiles: readonly CustomerProfile[], accountOf: (profile: CustomerProfile) => string) {
  const emails = [...new Set(profiles.flatMap((profile) => profile.contacts.map((contact) => contact.email?.trim()).filter(present)))];
  const byEmail = new Map<string, ContactRow[]>();
  for (const row of emails.length > 0 ? await port.contactsByEmail(emails) : []) {
    byEmail.set(norm(row.email), [...(byEmail.get(norm(row.email)) ?? []), row]);
  }
  const nameOnly = [...new Set(profiles.flatMap((profile) => profile.contacts.filter((contact) => !present(contact.email) && hasIdentity(contact)).map(() => accountOf(profile))))];
  const byName = new Map<string, string>();
  for (const row of nameOnly.length > 0 ? await port.contactsUnder(nameOnly) : []) {
    const key = `${row.accountId ?? ''}\u0000${norm(row.firstName)}\u0000${norm(row.lastName)}`;
    if (!byName.has(key)) byName.set(key, row.id);
  }
  return (contact: CustomerContact, accountId: string): string | undefined => {
    if (!present(contact.email)) return byName.get(contactKey(contact, accountId));
    const matches = byEmail.get(norm(contact.email));
    return (matches?.find((match) => match.accountId === accountId) ?? matches?.[0])?.id;
  };
}

export async function ensureCustomersWith(port: CustomerBulkPort, profiles: readonly CustomerProfile[]): Promise<CustomerRefs[]> {
  for (const profile of profiles) {
    if (!present(profile.name)) throw new CrmApiError('a customer profile has no company name to match or create an account with', undefined, 'invalidCustomer', false);
  }
  const { accountOf, created } = await ensureAccounts(port, profiles);
  const find = await knownContacts(port, profiles, accountOf);
  // New contacts are deduplicated by key (one email, or one name under one account, is one person).
  const newByKey = new Map<string, string>();
  const toCreate: Array<{ index: number; contact: CustomerContact; accountId: string; key: string }> = [];
  const pending = new Set<string>();
  profiles.forEach((profile, index) => {
    const accountId = accountOf(profile);
    for (const contact of profile.contacts.filter(hasIdentity)) {
      const key = contactKey(contact, accountId);
      if (pending.has(key) || find(contact, accountId)) continue;
      pending.add(key);
      toCreate.push({ index, contact, accountId, key });
    }
  });
  const newRows = toCreate.length > 0 ? await port.createContacts(toCreate) : [];
  toCreate.forEach((item, offset) => {
    const row = newRows[offset] as CreatedRow;
    newByKey.set(item.key, row.id);
    created[item.index]?.push(createdRecord('contact', row.id, row.unfilled));
  });
  return profiles.map((profile, index) => {
    const accountId = accountOf(profile);
    const contacts: CrmRecordRef[] = [];
    for (const contact of profile.contacts.filter(hasIdentity)) {
      const id = find(contact, accountId) ?? newByKey.get(contactKey(contact, accountId));
      if (id && !contacts.some((ref) => ref.id === id)) contacts.push({ entity: 'contact', id });
    }
    return { account: { entity: 'account', id: accountId }, contacts, created: created[index] ?? [] };
  });
}
