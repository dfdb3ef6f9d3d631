import { z } from 'zod';
import { createdRecord } from '../bulk-customers.ts';
import type { CreatedCustomerRecord, CrmRecordRef, CustomerColumns, CustomerContact, CustomerProfile, CustomerRefs, UnfilledLookup } from '../connector.ts';
import { CrmApiError } from '../connector.ts';
import type { ColumnCatalog } from './column-catalog.ts';
import { builtInCustomerColumns, contactOfRow, DataverseCustomerColumns } from './customer-columns.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { isNotFound } from './dataverse-errors.ts';
import { parseResponse, stringLiteral } from './odata.ts';

/*
 * The customer behind a referral: an account matched by company name + postal code (Microsoft's connector rule,
 * "Co-sell connector for Dynamics 365 CRM overview") and contacts matched by email, each created when missing.
 *
 * Matching is exact but case-insensitive, which is how Dataverse compares strings in $filter. A profile without a
 * postal code matches only accounts without one, so "Contoso" without an address never lands on one of several Contoso
 * branches. Creating is match-then-create rather than keyed: accounts have no natural key, and one job per referral at a
 * time means the only duplicate risk is two referrals for one new customer racing, which a later match then settles.
 */

const rowId = (column: string) => z.looseObject({ [column]: z.string() });
const contactRowSchema = z.looseObject({ contactid: z.string(), _parentcustomerid_value: z.string().nullish(), firstname: z.string().nullish(), lastname: z.string().nullish() });
const listOf = <S extends z.ZodType>(schema: S) => z.looseObject({ value: z.array(schema) });

/** A lead holds its customer in its own columns: the account's address1 columns and the contact's. */
const leadSchema = z.looseObject({
  companyname: z.string().nullish(),
  address1_line1: z.string().nullish(),
  address1_city: z.string().nullish(),
  address1_stateorprovince: z.string().nullish(),
  address1_postalcode: z.string().nullish(),
  address1_country: z.string().nullish(),
  firstname: z.string().nullish(),
  lastname: z.string().nullish(),
  emailaddress1: z.string().nullish(),
  telephone1: z.string().nullish(),
});

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** lastname is the contact's required column; an email-only contact gets the mailbox name rather than failing the sync. */
function fallbackLastName(contact: CustomerContact): string {
  const lastName = present(contact.lastName) ? contact.lastName.trim() : present(contact.email) ? contact.email.split('@')[0] : undefined;
  return lastName && lastName !== '' ? lastName : '(unknown)';
}

/** What the bulk path creates customers with, so a backfill writes the same columns as one create at a time. */
export type CustomerBodies = Pick<CustomerDirectory, 'accountBody' | 'contactBody'>;

export class CustomerDirectory {
  /** The mapping file's account and contact sections once `use` was called; the built-in columns until then. */
  private mapped: CustomerColumns = builtInCustomerColumns;
  private readonly wire: DataverseCustomerColumns;

  constructor(
    private readonly client: DataverseClient,
    catalog: ColumnCatalog,
  ) {
    this.wire = new DataverseCustomerColumns(client, catalog);
  }

  /** From now on, creates and reads follow the mapping file's account and contact sections. */
  use(columns: CustomerColumns): void {
    this.mapped = columns;
  }

  async ensure(profile: CustomerProfile): Promise<CustomerRefs> {
    if (!present(profile.name)) throw new CrmApiError('the customer profile has no company name to match or create an account with', undefined, 'invalidCustomer', false);
    const created: CreatedCustomerRecord[] = [];
    let accountId = await this.findAccount(profile);
    if (!accountId) {
      const unfilled: UnfilledLookup[] = [];
      accountId = await this.create('accounts', await this.accountBody(profile, unfilled));
      created.push(createdRecord('account', accountId, unfilled));
    }
    const contacts: CrmRecordRef[] = [];
    for (const contact of profile.contacts) {
      if (!present(contact.email) && !present(contact.lastName) && !present(contact.firstName)) continue;
      let contactId = await this.findContact(contact, accountId);
      if (!contactId) {
        const unfilled: UnfilledLookup[] = [];
        contactId = await this.create('contacts', await this.contactBody(contact, accountId, unfilled));
        created.push(createdRecord('contact', contactId, unfilled));
      }
      if (!contacts.some((ref) => ref.id === contactId)) contacts.push({ entity: 'contact', id: contactId });
    }
    return { account: { entity: 'account', id: accountId }, contacts, created };
  }

  private async findAccount(profile: CustomerProfile): Promise<string | undefined> {
    const postal = present(profile.postalCode) ? `address1_postalcode eq ${stringLiteral(profile.postalCode.trim())}` : 'address1_postalcode eq null';
    const filter = `name eq ${stringLiteral(profile.name.trim())} and ${postal}`;
    const raw = await this.client.run({ method: 'GET', route: 'accounts' }, (signal) =>
      // Oldest first, so that with duplicates every run picks the same account.
      this.client.api.retrieveMultiple({ collection: 'accounts', select: ['accountid'], filter, orderBy: ['createdon asc'], top: 1, signal }),
    );
    return parseResponse(listOf(rowId('accountid')), raw, 'GET accounts').value[0]?.accountid as string | undefined;
  }

  /** A new account's request body (the bulk path builds with it too); lookups it leaves empty go to `unfilled`. */
  async accountBody(profile: CustomerProfile, unfilled?: UnfilledLookup[]): Promise<Record<string, unknown>> {
    return this.wire.body('account', this.mapped.accountValues(profile), unfilled);
  }

  /** A new contact's request body, filed under the account; see `accountBody`. */
  async contactBody(contact: CustomerContact, accountId: string, unfilled?: UnfilledLookup[]): Promise<Record<string, unknown>> {
    const data = await this.wire.body('contact', this.mapped.contactValues(contact), unfilled);
    if (!present(typeof data.lastname === 'string' ? data.lastname : undefined)) data.lastname = fallbackLastName(contact);
    data['parentcustomerid_account@odata.bind'] = `/accounts(${accountId})`;
    return data;
  }

  /**
   * By email anywhere: an email names a person, and the same person may already be filed under another account (or none);
   * one under this account wins when there are several. Without an email, by first + last name under this account only.
   */
  private async findContact(contact: CustomerContact, accountId: string): Promise<string | undefined> {
    const filter = present(contact.email)
      ? `emailaddress1 eq ${stringLiteral(contact.email.trim())}`
      : `_parentcustomerid_value eq ${accountId} and firstname eq ${contact.firstName ? stringLiteral(contact.firstName.trim()) : 'null'} and lastname eq ${contact.lastName ? stringLiteral(contact.lastName.trim()) : 'null'}`;
    const raw = await this.client.run({ method: 'GET', route: 'contacts' }, (signal) =>
      this.client.api.retrieveMultiple({ collection: 'contacts', select: ['contactid', '_parentcustomerid_value'], filter, orderBy: ['createdon asc'], top: 10, signal }),
    );
    const rows = parseResponse(listOf(contactRowSchema), raw, 'GET contacts').value;
    const underAccount = rows.find((row) => row._parentcustomerid_value?.toLowerCase() === accountId.toLowerCase());
    return (underAccount ?? rows[0])?.contactid;
  }

  private async create(entitySet: string, data: Record<string, unknown>): Promise<string> {
    const id = await this.client.run({ method: 'POST', route: entitySet, successStatus: 204 }, (signal) => this.client.api.create<Record<string, unknown>, unknown>({ collection: entitySet, data, signal }));
    if (typeof id !== 'string') throw new CrmApiError(`Dataverse POST ${entitySet} returned no record id`, undefined, 'invalidResponse', false);
    return id;
  }

  /**
   * The customer of a record in one GET: its account and contact lookups expanded. An opportunity's account is
   * `parentaccountid`, else its potential customer (`customerid`) when that is an account; its contact `parentcontactid`,
   * else a contact customer. A lead carries the customer in its own columns.
   */
  async read(ref: CrmRecordRef): Promise<CustomerProfile | null> {
    switch (ref.entity) {
      case 'opportunity':
        return this.readThroughLookups(ref, 'opportunities', ['parentaccountid', 'customerid_account'], ['parentcontactid', 'customerid_contact']);
      case 'account':
        return this.readThroughLookups(ref, 'accounts', [], ['primarycontactid'], true);
      case 'contact':
        return this.readThroughLookups(ref, 'contacts', ['parentcustomerid_account'], [], false, true);
      case 'lead':
        return this.readLead(ref);
    }
  }

  /** The record's own columns when it is the account or contact itself; lookups of the account (its country) expanded one level deeper. */
  private async readThroughLookups(
    ref: CrmRecordRef,
    entitySet: string,
    accountNavigations: string[],
    contactNavigations: string[],
    selfIsAccount = false,
    selfIsContact = false,
  ): Promise<CustomerProfile | null> {
    const mapped = this.mapped;
    const account = await this.wire.read('account', mapped.account);
    const contact = await this.wire.read('contact', mapped.contact);
    const nested = (read: typeof account) => ({ select: read.select, ...(read.expand.length > 0 ? { expand: read.expand } : {}) });
    const expand = [
      ...accountNavigations.map((property) => ({ property, ...nested(account) })),
      ...contactNavigations.map((property) => ({ property, ...nested(contact) })),
      ...(selfIsAccount ? account.expand : selfIsContact ? contact.expand : []),
    ];
    const select = selfIsAccount ? account.select : selfIsContact ? contact.select : ['opportunityid'];
    let raw: unknown;
    try {
      raw = await this.client.run({ method: 'GET', route: `${entitySet}({id})` }, (signal) =>
        this.client.api.retrieve({ collection: entitySet, key: ref.id, select, ...(expand.length > 0 ? { expand } : {}), signal }),
      );
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    const row = parseResponse(z.record(z.string(), z.unknown()), raw, `GET ${entitySet}`);
    const related = (names: string[]): Record<string, unknown> | undefined => {
      for (const name of names) {
        const value = row[name];
        if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
      }
      return undefined;
    };
    const accountRow = selfIsAccount ? row : related(accountNavigations);
    const contactRow = selfIsContact ? row : related(contactNavigations);
    return mapped.profile(accountRow ? account.values(accountRow) : undefined, contactRow ? [contact.values(contactRow)] : []);
  }

  private async readLead(ref: CrmRecordRef): Promise<CustomerProfile | null> {
    let raw: unknown;
    try {
      raw = await this.client.run({ method: 'GET', route: 'leads({id})' }, (signal) =>
        this.client.api.retrieve({ collection: 'leads', key: ref.id, select: Object.keys(leadSchema.shape), signal }),
      );
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    const lead = parseResponse(leadSchema, raw, 'GET leads');
    const contact = contactOfRow(lead);
    const hasContact = contact.email !== undefined || contact.lastName !== undefined || contact.firstName !== undefined;
    return {
      name: lead.companyname ?? '',
      postalCode: lead.address1_postalcode ?? undefined,
      addressLine1: lead.address1_line1 ?? undefined,
      city: lead.address1_city ?? undefined,
      state: lead.address1_stateorprovince ?? undefined,
      country: lead.address1_country ?? undefined,
      contacts: hasContact ? [contact] : [],
    };
  }
}
