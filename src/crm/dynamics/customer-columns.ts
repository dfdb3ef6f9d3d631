import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { isCodeReference, type CodeReference, type ColumnRequest, type CustomerColumns, type CustomerContact, type CustomerProfile, type UnfilledLookup } from '../connector.ts';
import type { ColumnCatalog } from './column-catalog.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { entityKey, normalizeGuid, parseResponse, stringLiteral } from './odata.ts';
import { navigationProperty } from './record-reader.ts';
import { fromWire, toWire } from './wire-values.ts';

/*
 * The mapped account and contact columns on the wire: plain columns as they are, and lookups to a code table (the
 * country table of Microsoft's connector's "helper field": a custom table with an ISO code column) bound by the row
 * holding the code when writing, and expanded to that code when reading ("Create a table row using the Web API",
 * associating on create with @odata.bind; "Query data using the Web API", $expand of a single-valued navigation
 * property). Rows of a code table are found once per code and kept a while: such tables hardly change.
 */

const CODE_CACHE_MS = 10 * 60_000;
const tableSchema = z.looseObject({ EntitySetName: z.string(), PrimaryIdAttribute: z.string() });
const rowsSchema = z.looseObject({ value: z.array(z.record(z.string(), z.unknown())) });

export interface MappedRead {
  select: string[];
  expand: Array<{ property: string; select: string[] }>;
  /** Column → value as the mapping reads it (a lookup as its code). */
  values(row: Readonly<Record<string, unknown>>): Record<string, unknown>;
}

export class DataverseCustomerColumns {
  private readonly tables = new Map<string, Promise<z.output<typeof tableSchema>>>();
  private readonly ids = new LRUCache<string, Promise<string | null>>({ max: 1_000, ttl: CODE_CACHE_MS });

  constructor(
    private readonly client: DataverseClient,
    private readonly catalog: ColumnCatalog,
  ) {}

  /**
   * The request body of a create: lookups bound to the row holding their code, left out when no row holds it (and
   * then added to `unfilled`, for the audit).
   */
  async body(table: string, values: Readonly<Record<string, unknown>>, unfilled?: UnfilledLookup[]): Promise<Record<string, unknown>> {
    const catalog = await this.catalog.columns(table);
    const body: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(values)) {
      const info = catalog.get(column);
      if (!isCodeReference(value)) {
        body[column] = toWire(value, info);
        continue;
      }
      const bind = await this.bind(value);
      // An ISO code the country table lacks: the customer is created without it rather than not at all.
      if (bind) body[`${navigationProperty(column, info)}@odata.bind`] = bind;
      else {
        this.client.logger.warn({ table, column, code: value.value, target: value.entity }, 'no row of the lookup table holds this code; column left empty');
        unfilled?.push({ column, table: value.entity, by: value.by, code: value.value });
      }
    }
    return body;
  }

  /** `$select` and `$expand` of a table read with the mapped columns (`@` virtual columns have no customer meaning). */
  async read(table: string, columns: readonly ColumnRequest[]): Promise<MappedRead> {
    const catalog = await this.catalog.columns(table);
    const select: string[] = [];
    const expand: MappedRead['expand'] = [];
    const readers: Array<(row: Readonly<Record<string, unknown>>) => [string, unknown]> = [];
    for (const column of columns) {
      if (column.name.startsWith('@')) continue;
      const info = catalog.get(column.name);
      const lookup = column.lookup;
      if (lookup) {
        const property = navigationProperty(column.name, info);
        expand.push({ property, select: [lookup.by] });
        readers.push((row) => {
          const related = row[property];
          const code = typeof related === 'object' && related !== null ? (related as Record<string, unknown>)[lookup.by] : null;
          return [column.name, code ?? null];
        });
        continue;
      }
      select.push(column.name);
      readers.push((row) => [column.name, fromWire(row[column.name], info)]);
    }
    return { select, expand, values: (row) => Object.fromEntries(readers.map((reader) => reader(row))) };
  }

  private async bind(reference: CodeReference): Promise<string | undefined> {
    const table = await this.table(reference.entity);
    const id = await this.idOf(reference, table);
    return id === null ? undefined : `/${table.EntitySetName}(${id})`;
  }

  private idOf(reference: CodeReference, table: z.output<typeof tableSchema>): Promise<string | null> {
    const key = `${reference.entity}\u0000${reference.by}\u0000${reference.value.trim().toUpperCase()}`;
    let pending = this.ids.get(key);
    if (!pending) {
      pending = this.fetchId(reference, table);
      pending.catch(() => this.ids.delete(key));
      this.ids.set(key, pending);
    }
    return pending;
  }

  private async fetchId(reference: CodeReference, table: z.output<typeof tableSchema>): Promise<string | null> {
    const raw = await this.client.run({ method: 'GET', route: table.EntitySetName }, (signal) =>
      this.client.api.retrieveMultiple({
        collection: table.EntitySetName,
        select: [table.PrimaryIdAttribute],
        // Active rows only, oldest first: a retired duplicate of a country never wins.
        filter: `${reference.by} eq ${stringLiteral(reference.value.trim())} and statecode eq 0`,
        orderBy: ['createdon asc'],
        top: 1,
        signal,
      }),
    );
    const id = parseResponse(rowsSchema, raw, `GET ${table.EntitySetName}`).value[0]?.[table.PrimaryIdAttribute];
    return typeof id === 'string' ? normalizeGuid(id) : null;
  }

  private table(logicalName: string): Promise<z.output<typeof tableSchema>> {
    let pending = this.tables.get(logicalName);
    if (!pending) {
      pending = this.client
        .run({ method: 'GET', route: 'EntityDefinitions({key})' }, (signal) =>
          this.client.api.retrieveEntity({ key: entityKey(logicalName), select: ['EntitySetName', 'PrimaryIdAttribute'], signal }),
        )
        .then((raw) => parseResponse(tableSchema, raw, `GET EntityDefinitions(${logicalName})`));
      pending.catch(() => this.tables.delete(logicalName));
      this.tables.set(logicalName, pending);
    }
    return pending;
  }
}

/*
 * The customer columns of a connector built without a mapping file (the CLI's setup, solutions and demo commands): the
 * account's name and address1 columns and the contact's name, email and phone, as Microsoft's connector fills them.
 */
const ACCOUNT_COLUMNS = ['name', 'address1_line1', 'address1_city', 'address1_stateorprovince', 'address1_postalcode', 'address1_country'] as const;
const CONTACT_COLUMNS = ['firstname', 'lastname', 'emailaddress1', 'telephone1'] as const;

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

function stringAt(row: Readonly<Record<string, unknown>>, column: string): string | undefined {
  const value = row[column];
  return typeof value === 'string' ? value : undefined;
}

export const builtInCustomerColumns: CustomerColumns = {
  account: ACCOUNT_COLUMNS.map((name) => ({ name })),
  contact: CONTACT_COLUMNS.map((name) => ({ name })),
  accountValues(profile: CustomerProfile): Record<string, unknown> {
    const data: Record<string, unknown> = { name: profile.name.trim() };
    if (present(profile.addressLine1)) data.address1_line1 = profile.addressLine1;
    if (present(profile.city)) data.address1_city = profile.city;
    if (present(profile.state)) data.address1_stateorprovince = profile.state;
    if (present(profile.postalCode)) data.address1_postalcode = profile.postalCode.trim();
    // ISO 3166 alpha-2, as Microsoft's connector stores it ("Co-sell connector for Dynamics 365 CRM overview",
    // "Customer Account Country Code").
    if (present(profile.country)) data.address1_country = profile.country.trim().toUpperCase();
    return data;
  },
  contactValues(contact: CustomerContact): Record<string, unknown> {
    const data: Record<string, unknown> = {};
    if (present(contact.firstName)) data.firstname = contact.firstName.trim();
    if (present(contact.lastName)) data.lastname = contact.lastName.trim();
    if (present(contact.email)) data.emailaddress1 = contact.email.trim();
    if (present(contact.phone)) data.telephone1 = contact.phone.trim();
    return data;
  },
  profile(account, contacts): CustomerProfile {
    const row = account ?? {};
    return {
      name: stringAt(row, 'name') ?? '',
      postalCode: stringAt(row, 'address1_postalcode'),
      addressLine1: stringAt(row, 'address1_line1'),
      city: stringAt(row, 'address1_city'),
      state: stringAt(row, 'address1_stateorprovince'),
      country: stringAt(row, 'address1_country'),
      contacts: contacts.map(contactOfRow),
    };
  },
};

/** A contact as Dataverse holds it in its standard columns (a contact, or a lead's person columns). */
export function contactOfRow(row: Readonly<Record<string, unknown>>): CustomerContact {
  return { firstName: stringAt(row, 'firstname'), lastName: stringAt(row, 'lastname'), email: stringAt(row, 'emailaddress1'), phone: stringAt(row, 'telephone1') };
}
