import { z } from 'zod';
import { createdRecord } from '../bulk-customers.ts';
import type { CreatedCustomerRecord, CrmRecordRef, CustomerColumns, CustomerContact, CustomerProfile, CustomerRefs, UnfilledLookup } from '../connector.ts';
import { CrmApiError } from '../connector.ts';
import { builtInCustomerColumns, contactOfRow, SalesforceCustomerColumns } from './customer-columns.ts';
import { composite, MAX_SUBREQUESTS, subrequestError, succeeded, type Subrequest, type Subresponse } from './composite.ts';
import type { DescribeCache } from './describe.ts';
import { idWithPrefix, toId18 } from './ids.ts';
import { sobjectFor } from './objects.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import { soqlString } from './soql.ts';

/*
 * The customer behind a referral: an Account matched by Name + BillingPostalCode (Microsoft's connector rule, "Co-sell
 * connector for Salesforce CRM - overview") and Contacts matched by Email, each created when missing. SOQL compares
 * strings case-insensitively, so the match is exact but case-insensitive. A profile without a postal code matches only
 * accounts without one, so "Contoso" without an address never lands on one of several Contoso branches.
 *
 * Budget: all lookups for one referral are one /composite call, all creates another (only when something is missing).
 * Creating is match-then-create rather than keyed: accounts have no natural key, and one job per referral at a time
 * leaves only two referrals for one new customer racing, which a later match settles on the oldest account.
 */

const idRows = z.looseObject({ records: z.array(z.looseObject({ Id: z.string(), AccountId: z.string().nullish() })) });
const createResult = z.looseObject({ id: z.string() });
const rowsSchema = z.looseObject({ records: z.array(z.record(z.string(), z.unknown())) });

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);
const present = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

function hasIdentity(contact: CustomerContact): boolean {
  return present(contact.email) || present(contact.lastName) || present(contact.firstName);
}

/** What the bulk path creates customers with, so a backfill writes the same fields as one create at a time. */
export type CustomerBodies = Pick<CustomerDirectory, 'accountInsert' | 'contactInsert'>;

export class CustomerDirectory {
  /** The mapping file's account and contact sections once `use` was called; the built-in fields until then. */
  private mapped: CustomerColumns = builtInCustomerColumns;
  private readonly wire: SalesforceCustomerColumns;

  constructor(
    private readonly client: SalesforceClient,
    private readonly describe: DescribeCache,
  ) {
    this.wire = new SalesforceCustomerColumns(client, describe);
  }

  /** From now on, creates and reads follow the mapping file's account and contact sections. */
  use(columns: CustomerColumns): void {
    this.mapped = columns;
  }

  /** A new Account's insert body (the bulk path builds with it too); lookups it leaves empty go to `unfilled`. */
  async accountInsert(profile: CustomerProfile, unfilled?: UnfilledLookup[]): Promise<Record<string, unknown>> {
    return this.wire.body('Account', this.mapped.accountValues(profile), unfilled);
  }

  /** A new Contact's insert body under the account; see `accountInsert`. */
  async contactInsert(contact: CustomerContact, accountId: string, unfilled?: UnfilledLookup[]): Promise<Record<string, unknown>> {
    const body = await this.wire.body('Contact', this.mapped.contactValues(contact), unfilled);
    if (typeof body.LastName !== 'string' || body.LastName.trim() === '') body.LastName = fallbackLastName(contact);
    return { ...body, AccountId: accountId };
  }

  async ensure(profile: CustomerProfile): Promise<CustomerRefs> {
    if (!present(profile.name)) throw new CrmApiError('the customer profile has no company name to match or create an account with', undefined, 'invalidCustomer', false);
    const contacts = profile.contacts.filter(hasIdentity);
    const created: CreatedCustomerRecord[] = [];

    const found = await this.lookup(profile, contacts);
    let accountId = found.accountId;
    const missing = contacts.map((contact, index) => ({ contact, index })).filter(({ index }) => found.contactIds[index] === undefined);
    const contactIds = [...found.contactIds];

    if (!accountId || missing.length > 0) {
      const made = await this.create(profile, accountId, missing.map(({ contact }) => contact));
      if (!accountId) {
        accountId = made.accountId;
        created.push(createdRecord('account', accountId, made.accountUnfilled));
      }
      missing.forEach(({ index }, position) => {
        const id = made.contactIds[position];
        if (id) {
          contactIds[index] = id;
          created.push(createdRecord('contact', id, made.contactUnfilled[position] ?? []));
        }
      });
    }
    const refs: CrmRecordRef[] = [];
    for (const id of contactIds) if (id && !refs.some((ref) => ref.id === id)) refs.push({ entity: 'contact', id });
    return { account: { entity: 'account', id: accountId }, contacts: refs, created };
  }

  /** One composite call per 24 contacts: the account query, then contacts by email (else by name under the account). */
  private async lookup(profile: CustomerProfile, contacts: readonly CustomerContact[]): Promise<{ accountId: string | undefined; contactIds: Array<string | undefined> }> {
    const postal = present(profile.postalCode) ? `BillingPostalCode = ${soqlString(profile.postalCode.trim())}` : 'BillingPostalCode = null';
    // Oldest first, so that with duplicates every run picks the same account.
    const accountQuery = `SELECT Id FROM Account WHERE Name = ${soqlString(profile.name.trim())} AND ${postal} ORDER BY CreatedDate ASC LIMIT 1`;
    const contactIds: Array<string | undefined> = contacts.map(() => undefined);
    let accountId: string | undefined;
    const perCall = MAX_SUBREQUESTS - 1;
    for (let start = 0; start === 0 || start < contacts.length; start += perCall) {
      const chunk = contacts.slice(start, start + perCall);
      const subrequests: Subrequest[] = [{ method: 'GET', path: queryPath(accountQuery), referenceId: 'account' }];
      chunk.forEach((contact, offset) => subrequests.push({ method: 'GET', path: this.contactQueryPath(contact), referenceId: `contact${offset}` }));
      const responses = await composite(this.client, subrequests, { allOrNone: false, route: 'customer lookup', idempotent: true });
      accountId = firstId(responses.get('account'), 'account lookup') ?? accountId;
      chunk.forEach((_, offset) => {
        const rows = idRows.safeParse(responses.get(`contact${offset}`)?.body);
        if (!rows.success) return;
        // An email names a person who may be filed under another account (or none); one under this account wins.
        const under = rows.data.records.find((row) => accountId !== undefined && row.AccountId !== undefined && row.AccountId !== null && toId18(row.AccountId) === accountId);
        const pick = under ?? rows.data.records[0];
        contactIds[start + offset] = pick ? toId18(pick.Id) : undefined;
      });
    }
    return { accountId, contactIds };
  }

  private contactQueryPath(contact: CustomerContact): string {
    if (present(contact.email)) return queryPath(`SELECT Id, AccountId FROM Contact WHERE Email = ${soqlString(contact.email.trim())} ORDER BY CreatedDate ASC LIMIT 10`);
    const first = present(contact.firstName) ? soqlString(contact.firstName.trim()) : 'null';
    const last = present(contact.lastName) ? soqlString(contact.lastName.trim()) : 'null';
    // Without an email, only a namesake under the matched account counts; with no account the reference fails: no match.
    return `${queryPath(`SELECT Id, AccountId FROM Contact WHERE FirstName = ${first} AND LastName = ${last} AND AccountId = `)}'@{account.records[0].Id}'${encodeURIComponent(' ORDER BY CreatedDate ASC LIMIT 1')}`;
  }

  /** The account (when missing) and the missing contacts, in composite calls of at most 25 creates. */
  private async create(
    profile: CustomerProfile,
    accountId: string | undefined,
    contacts: readonly CustomerContact[],
  ): Promise<{ accountId: string; contactIds: Array<string | undefined>; accountUnfilled: UnfilledLookup[]; contactUnfilled: UnfilledLookup[][] }> {
    const contactIds: Array<string | undefined> = [];
    const accountUnfilled: UnfilledLookup[] = [];
    const contactUnfilled = contacts.map((): UnfilledLookup[] => []);
    let account = accountId;
    let start = 0;
    do {
      const subrequests: Subrequest[] = [];
      if (!account) subrequests.push({ method: 'POST', path: '/sobjects/Account', referenceId: 'account', body: await this.accountInsert(profile, accountUnfilled) });
      const room = MAX_SUBREQUESTS - subrequests.length;
      const chunk = contacts.slice(start, start + room);
      const bodies = await Promise.all(chunk.map((contact, offset) => this.contactInsert(contact, account ?? '@{account.id}', contactUnfilled[start + offset])));
      bodies.forEach((body, offset) => subrequests.push({ method: 'POST', path: '/sobjects/Contact', referenceId: `contact${offset}`, body }));
      const responses = await composite(this.client, subrequests, { allOrNone: false, route: 'customer create', idempotent: false });
      if (!account) {
        const made = responses.get('account');
        if (!succeeded(made)) throw subrequestError(made, 'POST sobjects/Account');
        account = createdId(made, 'POST sobjects/Account');
      }
      chunk.forEach((_, offset) => {
        const made = responses.get(`contact${offset}`);
        if (!succeeded(made)) throw subrequestError(made, 'POST sobjects/Contact');
        contactIds.push(createdId(made, 'POST sobjects/Contact'));
      });
      start += chunk.length;
    } while (start < contacts.length);
    if (!account) throw new CrmApiError('Salesforce created no account', undefined, 'invalidResponse', false);
    return { accountId: account, contactIds, accountUnfilled, contactUnfilled };
  }

  /** `read` of an account, contact or opportunity: a lookup country comes through its relationship in the same query. */
  private async readThroughLookups(entity: 'account' | 'contact' | 'opportunity', id: string): Promise<CustomerProfile | null> {
    const mapped = this.mapped;
    const account = await this.wire.read('Account', mapped.account);
    const contact = await this.wire.read('Contact', mapped.contact);
    const under = (relationship: string, fields: readonly string[]) => fields.map((f) => `${relationship}.${f}`);
    if (entity === 'contact') {
      const rows = await this.client.query(`SELECT Id, ${[...contact.fields, ...under('Account', account.fields)].join(', ')} FROM Contact WHERE Id = ${soqlString(id)}`, { route: 'Contact customer' });
      const row = rows[0];
      return row ? mapped.profile(account.values(parentOf(row, 'Account')), [contact.values(row)]) : null;
    }
    const opportunity = entity === 'opportunity';
    const withContact = opportunity && (await this.describe.describe('Opportunity')).field('ContactId') !== undefined;
    const main = opportunity
      ? `SELECT Id, AccountId, ${[...under('Account', account.fields), ...(withContact ? under('Contact', contact.fields) : [])].join(', ')} FROM Opportunity WHERE Id = ${soqlString(id)}`
      : `SELECT Id, ${account.fields.join(', ')} FROM Account WHERE Id = ${soqlString(id)}`;
    const accountRef = opportunity ? '@{record.records[0].AccountId}' : id;
    const responses = await composite(
      this.client,
      [
        { method: 'GET', path: queryPath(main), referenceId: 'record' },
        { method: 'GET', path: `${queryPath(`SELECT ${contact.fields.join(', ')} FROM Contact WHERE AccountId = `)}'${accountRef}'${encodeURIComponent(' ORDER BY CreatedDate ASC LIMIT 1')}`, referenceId: 'contacts' },
      ],
      { allOrNone: false, route: `${opportunity ? 'Opportunity' : 'Account'} customer`, idempotent: true },
    );
    const record = responses.get('record');
    if (!succeeded(record)) throw subrequestError(record, `GET ${opportunity ? 'Opportunity' : 'Account'} customer`);
    const row = rowsSchema.parse(record?.body).records[0];
    if (!row) return null;
    const accountRow = opportunity ? parentOf(row, 'Account') : row;
    const ownContact = withContact ? parentOf(row, 'Contact') : undefined;
    const fallback = rowsSchema.safeParse(responses.get('contacts')?.body);
    const contactRow = ownContact ?? (fallback.success ? fallback.data.records[0] : undefined);
    return mapped.profile(accountRow ? account.values(accountRow) : undefined, contactRow ? [contact.values(contactRow)] : []);
  }

  /**
   * The customer of a record in one call. An opportunity's account and contact come through its lookups; when it has no
   * contact (Opportunity.ContactId is missing in older API versions, Salesforce Object Reference "Opportunity") the
   * account's oldest contact stands in, so a co-sell referral created from it still has the contact Partner Center
   * requires.
   */
  async read(ref: CrmRecordRef): Promise<CustomerProfile | null> {
    const info = sobjectFor(ref.entity);
    const id = idWithPrefix(ref.id, info.keyPrefix);
    if (!id) return null;
    if (ref.entity !== 'lead') return this.readThroughLookups(ref.entity, id);
    const rows = await this.client.query(`SELECT Id, Company, Street, City, State, PostalCode, Country, FirstName, LastName, Email, Phone FROM Lead WHERE Id = ${soqlString(id)}`, { route: 'Lead customer' });
    const lead = rows[0];
    if (!lead) return null;
    const contact = contactOfRow(lead);
    return { name: text(lead.Company) ?? '', addressLine1: text(lead.Street), city: text(lead.City), state: text(lead.State), postalCode: text(lead.PostalCode), country: text(lead.Country), contacts: hasIdentity(contact) ? [contact] : [] };
  }
}

export function queryPath(soql: string): string {
  return `/query?q=${encodeURIComponent(soql)}`;
}

function firstId(sub: Subresponse | undefined, operation: string): string | undefined {
  if (!succeeded(sub)) throw subrequestError(sub, operation);
  const rows = idRows.safeParse(sub?.body);
  const id = rows.success ? rows.data.records[0]?.Id : undefined;
  return id ? toId18(id) : undefined;
}

function createdId(sub: Subresponse | undefined, operation: string): string {
  const parsed = createResult.safeParse(sub?.body);
  const id = parsed.success ? toId18(parsed.data.id) : undefined;
  if (!id) throw new CrmApiError(`Salesforce ${operation} returned no record id`, sub?.httpStatusCode, 'invalidResponse', false);
  return id;
}

/** LastName is the contact's required field; an email-only contact gets the mailbox name rather than failing the sync. */
function fallbackLastName(contact: CustomerContact): string {
  const lastName = present(contact.lastName) ? contact.lastName.trim() : present(contact.email) ? contact.email.split('@')[0] : undefined;
  return lastName && lastName !== '' ? lastName : '(unknown)';
}

function parentOf(row: Record<string, unknown>, relationship: string): Record<string, unknown> | undefined {
  const parent = row[relationship];
  return typeof parent === 'object' && parent !== null ? (parent as Record<string, unknown>) : undefined;
}
