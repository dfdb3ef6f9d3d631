import { LRUCache } from 'lru-cache';
import { isCodeReference, type CodeReference, type ColumnRequest, type CustomerColumns, type CustomerContact, type CustomerProfile, type UnfilledLookup } from '../connector.ts';
import type { DescribeCache } from './describe.ts';
import { toId18 } from './ids.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import { soqlString } from './soql.ts';

/*
 * The mapped Account and Contact fields on the wire: plain fields as they are, and lookups to a code object (a custom
 * country object with an ISO code field, as Microsoft's connector's "helper field") set to the Id of the record holding
 * the code when writing, and read through the relationship (`Country__r.IsoCode__c`, SOQL "Relationship Queries").
 * Records of a code object are found once per code and kept a while: such objects hardly change.
 */

const CODE_CACHE_MS = 10 * 60_000;

export interface MappedFields {
  /** Field paths relative to the object (prefix them with `Account.` to read through a relationship). */
  fields: string[];
  /** Column → value as the mapping reads it (a lookup as its code). */
  values(row: Readonly<Record<string, unknown>> | undefined): Record<string, unknown>;
}

export class SalesforceCustomerColumns {
  private readonly ids = new LRUCache<string, Promise<string | null>>({ max: 1_000, ttl: CODE_CACHE_MS });

  constructor(
    private readonly client: SalesforceClient,
    private readonly describe: DescribeCache,
  ) {}

  /** The insert body: lookups set to the record holding their code, left out when none does (and added to `unfilled`). */
  async body(sobject: string, values: Readonly<Record<string, unknown>>, unfilled?: UnfilledLookup[]): Promise<Record<string, unknown>> {
    const body: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(values)) {
      if (!isCodeReference(value)) {
        body[column] = value;
        continue;
      }
      const id = await this.idOf(value);
      // An ISO code the country object lacks: the customer is created without it rather than not at all.
      if (id !== null) body[column] = id;
      else {
        this.client.logger.warn({ sobject, field: column, code: value.value, target: value.entity }, 'no record of the lookup object holds this code; field left empty');
        unfilled?.push({ column, table: value.entity, by: value.by, code: value.value });
      }
    }
    if (sobject === 'Account') await this.fitCountryPicklists(body);
    return body;
  }

  /** What to select for the mapped columns of an object, and how to read the row back. */
  async read(sobject: string, columns: readonly ColumnRequest[]): Promise<MappedFields> {
    const described = await this.describe.describe(sobject);
    const picklists = sobject === 'Account' && described.field('BillingCountryCode') !== undefined;
    const fields = new Set<string>();
    const readers: Array<(row: Readonly<Record<string, unknown>>) => [string, unknown]> = [];
    for (const column of columns) {
      if (column.name.startsWith('@')) continue;
      const field = described.field(column.name);
      const lookup = column.lookup;
      if (lookup && field?.type === 'reference' && field.relationshipName) {
        const relationship = field.relationshipName;
        fields.add(`${relationship}.${lookup.by}`);
        readers.push((row) => {
          const parent = row[relationship];
          return [column.name, typeof parent === 'object' && parent !== null ? ((parent as Record<string, unknown>)[lookup.by] ?? null) : null];
        });
        continue;
      }
      const name = field?.name ?? column.name;
      fields.add(name);
      // With State and Country picklists on, the ISO code lives in BillingCountryCode (Salesforce Help "State and
      // Country/Territory Picklists"); BillingCountry then holds the country's name.
      if (picklists && name === 'BillingCountry') {
        fields.add('BillingCountryCode');
        readers.push((row) => [column.name, row.BillingCountryCode ?? row.BillingCountry ?? null]);
        continue;
      }
      readers.push((row) => [column.name, row[name] ?? null]);
    }
    return { fields: [...fields], values: (row) => (row ? Object.fromEntries(readers.map((reader) => reader(row))) : {}) };
  }

  /**
   * With State and Country picklists on, the code fields hold the ISO code and free-text states are refused unless they
   * match the picklist: the country goes to BillingCountryCode and the state is left out rather than failing the referral.
   */
  private async fitCountryPicklists(body: Record<string, unknown>): Promise<void> {
    const account = await this.describe.describe('Account');
    if (account.field('BillingCountryCode') === undefined) return;
    delete body.BillingState;
    const country = body.BillingCountry;
    if (typeof country === 'string' && /^[A-Z]{2}$/.test(country)) {
      delete body.BillingCountry;
      body.BillingCountryCode = country;
    }
  }

  private idOf(reference: CodeReference): Promise<string | null> {
    const key = `${reference.entity}\u0000${reference.by}\u0000${reference.value.trim().toUpperCase()}`;
    let pending = this.ids.get(key);
    if (!pending) {
      pending = this.fetchId(reference);
      pending.catch(() => this.ids.delete(key));
      this.ids.set(key, pending);
    }
    return pending;
  }

  private async fetchId(reference: CodeReference): Promise<string | null> {
    const soql = `SELECT Id FROM ${reference.entity} WHERE ${reference.by} = ${soqlString(reference.value.trim())} ORDER BY CreatedDate ASC LIMIT 1`;
    const rows = await this.client.query(soql, { route: `${reference.entity} code` });
    const id = rows[0]?.Id;
    return (typeof id === 'string' ? toId18(id) : undefined) ?? null;
  }
}

/*
 * The customer fields of a connector built without a mapping file (the CLI's setup, solutions and demo commands): the
 * Account's Name and Billing address and the Contact's name, email and phone, as Microsoft's connector fills them.
 * `body` and `read` above fit the country to State and Country picklists when those are on.
 */
const ACCOUNT_FIELDS = ['Name', 'BillingStreet', 'BillingCity', 'BillingState', 'BillingPostalCode', 'BillingCountry'] as const;
const CONTACT_FIELDS = ['FirstName', 'LastName', 'Email', 'Phone'] as const;

const present = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

export const builtInCustomerColumns: CustomerColumns = {
  account: ACCOUNT_FIELDS.map((name) => ({ name })),
  contact: CONTACT_FIELDS.map((name) => ({ name })),
  accountValues(profile: CustomerProfile): Record<string, unknown> {
    const values: Record<string, unknown> = { Name: profile.name.trim() };
    if (present(profile.addressLine1)) values.BillingStreet = profile.addressLine1.trim();
    if (present(profile.city)) values.BillingCity = profile.city.trim();
    if (present(profile.postalCode)) values.BillingPostalCode = profile.postalCode.trim();
    if (present(profile.state)) values.BillingState = profile.state.trim();
    // ISO 3166 alpha-2, as Microsoft's connector stores it in BillingCountry ("Co-sell connector for Salesforce CRM -
    // overview").
    if (present(profile.country)) values.BillingCountry = profile.country.trim().toUpperCase();
    return values;
  },
  contactValues(contact: CustomerContact): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    if (present(contact.firstName)) values.FirstName = contact.firstName.trim();
    if (present(contact.lastName)) values.LastName = contact.lastName.trim();
    if (present(contact.email)) values.Email = contact.email.trim();
    if (present(contact.phone)) values.Phone = contact.phone.trim();
    return values;
  },
  profile(account, contacts): CustomerProfile {
    return {
      name: text(account?.Name) ?? '',
      addressLine1: text(account?.BillingStreet),
      city: text(account?.BillingCity),
      state: text(account?.BillingState),
      postalCode: text(account?.BillingPostalCode),
      country: text(account?.BillingCountry),
      contacts: contacts.map(contactOfRow),
    };
  },
};

/** A person as Salesforce holds it in a Contact's (or a Lead's) standard fields. */
export function contactOfRow(row: Readonly<Record<string, unknown>>): CustomerContact {
  return { firstName: text(row.FirstName), lastName: text(row.LastName), email: text(row.Email), phone: text(row.Phone) };
}
