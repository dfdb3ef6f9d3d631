import { z } from 'zod';
import { CrmApiError, type CrmRecordRef, type CustomerContact } from '../connector.ts';
import type { DealContactsApi } from '../deal-contacts.ts';
import type { CustomerDirectory } from './customers.ts';
import { idWithPrefix, toId18 } from './ids.ts';
import { sobjectFor } from './objects.ts';
import type { SalesforceClient } from './salesforce-client.ts';
import { soqlString } from './soql.ts';

/*
 * An opportunity's customer contacts as OpportunityContactRole rows (Salesforce Object Reference
 * "OpportunityContactRole": OpportunityId + ContactId, IsPrimary). A contact is found by Email (SOQL compares
 * case-insensitively), oldest first as in the customer match, and created under the opportunity's account only when no
 * contact has that e-mail. Removing a contact deletes its role, never the contact.
 */

const text = z.string().nullish();
const roleRow = z.looseObject({
  Id: z.string(),
  ContactId: z.string(),
  IsPrimary: z.boolean().nullish(),
  Contact: z.looseObject({ FirstName: text, LastName: text, Email: text, Phone: text }).nullish(),
});
const idRow = z.looseObject({ Id: z.string() });
const accountRow = z.looseObject({ AccountId: text });
const created = z.looseObject({ id: z.string() });

type Role = z.infer<typeof roleRow>;

const present = (value: string | null | undefined): value is string => typeof value === 'string' && value.trim() !== '';
const sameEmail = (a: string | null | undefined, b: string): boolean => present(a) && a.trim().toLowerCase() === b.trim().toLowerCase();

export class SalesforceContactRoles implements DealContactsApi {
  constructor(
    private readonly client: SalesforceClient,
    /** A new Contact's body as the customer code builds it, so a contact role's contact gets the same fields as a customer's. */
    private readonly contactBody: CustomerDirectory['contactInsert'],
  ) {}

  async read(ref: CrmRecordRef): Promise<CustomerContact[]> {
    return (await this.roles(ref)).map((role) => ({
      firstName: role.Contact?.FirstName ?? undefined,
      lastName: role.Contact?.LastName ?? undefined,
      email: role.Contact?.Email ?? undefined,
      phone: role.Contact?.Phone ?? undefined,
    }));
  }

  async add(ref: CrmRecordRef, contacts: readonly CustomerContact[]): Promise<void> {
    const opportunityId = this.opportunityId(ref);
    const roles = await this.roles(ref);
    let hasPrimary = roles.some((role) => role.IsPrimary === true);
    let accountId: string | null | undefined;
    for (const contact of contacts) {
      if (!present(contact.email)) continue;
      const email = contact.email;
      if (roles.some((role) => sameEmail(role.Contact?.Email, email))) continue;
      let contactId = await this.findContact(email);
      if (!contactId) {
        accountId ??= await this.accountOf(opportunityId);
        contactId = await this.create('Contact', accountId ? await this.contactBody(contact, accountId) : withoutAccount(await this.contactBody(contact, '')));
      }
      // The first contact of a deal without one becomes its primary contact, as the create's contact is.
      await this.create('OpportunityContactRole', { OpportunityId: opportunityId, ContactId: contactId, ...(hasPrimary ? {} : { IsPrimary: true }) });
      roles.push({ Id: '', ContactId: contactId, IsPrimary: !hasPrimary, Contact: { Email: email } });
      hasPrimary = true;
    }
  }

  async edit(ref: CrmRecordRef, contacts: readonly CustomerContact[]): Promise<void> {
    const roles = await this.roles(ref);
    for (const contact of contacts) {
      const email = contact.email;
      if (!present(email)) continue;
      const role = roles.find((r) => sameEmail(r.Contact?.Email, email));
      if (!role) continue;
      const body: Record<string, unknown> = { FirstName: contact.firstName ?? null, Phone: contact.phone ?? null };
      // LastName is required: a contact whose last name was cleared keeps the one it has.
      if (present(contact.lastName)) body.LastName = contact.lastName;
      await this.client.send({ method: 'PATCH', path: `/sobjects/Contact/${role.ContactId}`, route: 'sobjects/Contact/{id}', body, idempotent: true });
    }
  }

  async remove(ref: CrmRecordRef, emails: readonly string[]): Promise<void> {
    const roles = await this.roles(ref);
    for (const role of roles.filter((r) => emails.some((email) => sameEmail(r.Contact?.Email, email)))) {
      await this.client.send({ method: 'DELETE', path: `/sobjects/OpportunityContactRole/${role.Id}`, route: 'sobjects/OpportunityContactRole/{id}', idempotent: true });
    }
  }

  private opportunityId(ref: CrmRecordRef): string {
    const id = idWithPrefix(ref.id, sobjectFor('opportunity').keyPrefix);
    if (!id) throw new CrmApiError(`not an opportunity id: ${ref.id}`, undefined, 'invalidRequest', false);
    return id;
  }

  private async roles(ref: CrmRecordRef): Promise<Role[]> {
    const id = this.opportunityId(ref);
    const rows = await this.client.query(
      `SELECT Id, ContactId, IsPrimary, Contact.FirstName, Contact.LastName, Contact.Email, Contact.Phone FROM OpportunityContactRole WHERE OpportunityId = ${soqlString(id)} ORDER BY IsPrimary DESC, CreatedDate ASC`,
      { route: 'OpportunityContactRole by opportunity' },
    );
    return rows.map((row) => roleRow.parse(row));
  }

  private async findContact(email: string): Promise<string | undefined> {
    const rows = await this.client.query(`SELECT Id FROM Contact WHERE Email = ${soqlString(email.trim())} ORDER BY CreatedDate ASC LIMIT 1`, { route: 'Contact by Email' });
    const row = rows[0] ? idRow.parse(rows[0]) : undefined;
    return row ? toId18(row.Id) : undefined;
  }

  private async accountOf(opportunityId: string): Promise<string | null> {
    const rows = await this.client.query(`SELECT AccountId FROM Opportunity WHERE Id = ${soqlString(opportunityId)}`, { route: 'Opportunity account' });
    return rows[0] ? (accountRow.parse(rows[0]).AccountId ?? null) : null;
  }

  private async create(sobject: string, body: Record<string, unknown>): Promise<string> {
    const raw = await this.client.send({ method: 'POST', path: `/sobjects/${sobject}`, route: `sobjects/${sobject}`, body, idempotent: false });
    const parsed = created.safeParse(raw);
    if (!parsed.success) throw new CrmApiError(`Salesforce POST sobjects/${sobject} returned no record id`, undefined, 'invalidResponse', false);
    return toId18(parsed.data.id) ?? parsed.data.id;
  }
}

function withoutAccount(body: Record<string, unknown>): Record<string, unknown> {
  const { AccountId: _account, ...rest } = body;
  return rest;
}

/**
 * The opportunity a contact role's change event concerns, as a ref list: a CREATE carries every field, an UPDATE the
 * changed ones (OpportunityId is not updateable, so it is absent then) and a DELETE none; those leave the contact
 * change to the pair's next sync, which reads the roles. Undefined: not a contact role event.
 */
export function contactRoleOpportunity(entityName: string, payload: Record<string, unknown>): CrmRecordRef[] | undefined {
  if (entityName !== 'OpportunityContactRole') return undefined;
  const raw = payload.OpportunityId;
  const id = typeof raw === 'string' ? idWithPrefix(raw, sobjectFor('opportunity').keyPrefix) : undefined;
  return id ? [{ entity: 'opportunity', id }] : [];
}
