import { z } from 'zod';
import { memoizeSuccess } from '../../util/memoize-success.ts';
import { CrmApiError, type CrmRecordRef, type CustomerContact } from '../connector.ts';
import type { DealContactsApi } from '../deal-contacts.ts';
import type { CustomerDirectory } from './customers.ts';
import type { DataverseClient } from './dataverse-client.ts';
import { parseResponse, stringLiteral } from './odata.ts';
import { webhookActor } from './webhook.ts';

/*
 * An opportunity's customer contacts in Dataverse: its primary contact (`parentcontactid`) and its stakeholders,
 * `connection` rows from the opportunity to a contact in the "Stakeholder" connection role (Dynamics 365 Sales: the
 * opportunity's Stakeholders list). The first contact of a deal without a primary contact becomes it; the others are
 * stakeholders. A contact is found by `emailaddress1` (Dataverse compares case-insensitively), oldest first, and
 * created under the opportunity's account only when no contact has that e-mail. Removing a contact deletes its
 * connection (or clears the primary contact), never the contact.
 */

const text = z.string().nullish();
const listOf = <S extends z.ZodType>(schema: S) => z.looseObject({ value: z.array(schema) });
const opportunityRow = z.looseObject({ _parentcontactid_value: text, _parentaccountid_value: text, _customerid_value: text });
const connectionRow = z.looseObject({ connectionid: z.string(), _record2id_value: text });
const contactRow = z.looseObject({ contactid: z.string(), firstname: text, lastname: text, emailaddress1: text, telephone1: text });
const roleRow = z.looseObject({ connectionroleid: z.string() });

type ContactRow = z.infer<typeof contactRow>;
interface Linked {
  contact: ContactRow;
  /** The stakeholder connection, or none for the primary contact alone. */
  connectionId: string | undefined;
  primary: boolean;
}

const present = (value: string | null | undefined): value is string => typeof value === 'string' && value.trim() !== '';
const sameEmail = (a: string | null | undefined, b: string): boolean => present(a) && a.trim().toLowerCase() === b.trim().toLowerCase();
const CONTACT_SELECT = ['contactid', 'firstname', 'lastname', 'emailaddress1', 'telephone1'];

export class DynamicsStakeholders implements DealContactsApi {
  /** Webhook bodies are kept in the inbox as received, so their InitiatingUserId tells our own writes apart. */
  notificationActor(payload: string): { initiatingUserId: string | undefined; depth: number | undefined } | undefined {
    return webhookActor(payload);
  }

  /** The "Stakeholder" connection role (a catalogue row that survives data resets), read once. */
  private readonly stakeholderRole = memoizeSuccess(async (): Promise<string> => {
    const raw = await this.client.run({ method: 'GET', route: 'connectionroles' }, (signal) =>
      this.client.api.retrieveMultiple({ collection: 'connectionroles', select: ['connectionroleid'], filter: `name eq 'Stakeholder' and category eq 1000`, top: 1, signal }),
    );
    const role = parseResponse(listOf(roleRow), raw, 'GET connectionroles').value[0];
    if (!role) throw new CrmApiError('the org has no "Stakeholder" connection role to link contacts to opportunities with', undefined, 'stakeholderRoleMissing', false);
    return role.connectionroleid;
  });

  constructor(
    private readonly client: DataverseClient,
    /** A new contact's body as the customer code builds it, so a stakeholder gets the same columns as a customer's contact. */
    private readonly contactBody: CustomerDirectory['contactBody'],
  ) {}

  async read(ref: CrmRecordRef): Promise<CustomerContact[]> {
    return (await this.linked(ref)).map(({ contact }) => ({
      firstName: contact.firstname ?? undefined,
      lastName: contact.lastname ?? undefined,
      email: contact.emailaddress1 ?? undefined,
      phone: contact.telephone1 ?? undefined,
    }));
  }

  async add(ref: CrmRecordRef, contacts: readonly CustomerContact[]): Promise<void> {
    const linked = await this.linked(ref);
    const opportunity = await this.opportunity(ref);
    let primary = present(opportunity._parentcontactid_value);
    for (const contact of contacts) {
      const email = contact.email;
      if (!present(email) || linked.some((l) => sameEmail(l.contact.emailaddress1, email))) continue;
      let contactId = await this.findContact(email);
      if (!contactId) {
        const account = opportunity._parentaccountid_value ?? opportunity._customerid_value;
        const data = await this.contactBody(contact, account ?? '');
        if (!present(account)) delete data['parentcustomerid_account@odata.bind'];
        contactId = await this.create('contacts', data);
      }
      if (!primary) {
        await this.updateOpportunity(ref, { 'parentcontactid@odata.bind': `/contacts(${contactId})` });
        primary = true;
      } else {
        await this.create('connections', {
          'record1id_opportunity@odata.bind': `/opportunities(${ref.id})`,
          'record2id_contact@odata.bind': `/contacts(${contactId})`,
          'record2roleid@odata.bind': `/connectionroles(${await this.stakeholderRole()})`,
        });
      }
      linked.push({ contact: { contactid: contactId, emailaddress1: email }, connectionId: undefined, primary: false });
    }
  }

  async edit(ref: CrmRecordRef, contacts: readonly CustomerContact[]): Promise<void> {
    const linked = await this.linked(ref);
    for (const contact of contacts) {
      const email = contact.email;
      if (!present(email)) continue;
      const found = linked.find((l) => sameEmail(l.contact.emailaddress1, email));
      if (!found) continue;
      const data: Record<string, unknown> = { firstname: contact.firstName ?? null, telephone1: contact.phone ?? null };
      // lastname is required: a contact whose last name was cleared keeps the one it has.
      if (present(contact.lastName)) data.lastname = contact.lastName;
      await this.client.run({ method: 'PATCH', route: 'contacts({id})', idempotent: true }, (signal) =>
        this.client.api.update<Record<string, unknown>, unknown>({ collection: 'contacts', key: found.contact.contactid, data, signal }),
      );
    }
  }

  async remove(ref: CrmRecordRef, emails: readonly string[]): Promise<void> {
    for (const l of (await this.linked(ref)).filter((x) => emails.some((email) => sameEmail(x.contact.emailaddress1, email)))) {
      const connectionId = l.connectionId;
      if (connectionId) {
        await this.client.run({ method: 'DELETE', route: 'connections({id})', idempotent: true }, (signal) => this.client.api.deleteRecord({ collection: 'connections', key: connectionId, signal }));
      }
      if (l.primary) {
        await this.client.run({ method: 'DELETE', route: 'opportunities({id})/parentcontactid/$ref', idempotent: true }, (signal) =>
          this.client.api.disassociateSingleValued({ collection: 'opportunities', primaryKey: ref.id, navigationProperty: 'parentcontactid', signal }),
        );
      }
    }
  }

  /** The primary contact first, then the stakeholders in creation order; a contact both ways counts once. */
  private async linked(ref: CrmRecordRef): Promise<Linked[]> {
    const opportunity = await this.opportunity(ref);
    const raw = await this.client.run({ method: 'GET', route: 'connections' }, (signal) =>
      this.client.api.retrieveMultiple({
        collection: 'connections',
        select: ['connectionid', '_record2id_value'],
        filter: `_record1id_value eq ${ref.id} and record2objecttypecode eq 2`,
        orderBy: ['createdon asc'],
        signal,
      }),
    );
    const connections = parseResponse(listOf(connectionRow), raw, 'GET connections').value;
    const primaryId = opportunity._parentcontactid_value ?? undefined;
    const ids = [...new Set([...(primaryId ? [primaryId] : []), ...connections.map((c) => c._record2id_value).filter(present)].map((id) => id.toLowerCase()))];
    if (ids.length === 0) return [];
    const rows = await this.contacts(ids);
    return ids.flatMap((id) => {
      const contact = rows.find((row) => row.contactid.toLowerCase() === id);
      if (!contact) return [];
      const connection = connections.find((c) => c._record2id_value?.toLowerCase() === id);
      return [{ contact, connectionId: connection?.connectionid, primary: primaryId?.toLowerCase() === id }];
    });
  }

  private async contacts(ids: readonly string[]): Promise<ContactRow[]> {
    const raw = await this.client.run({ method: 'GET', route: 'contacts' }, (signal) =>
      this.client.api.retrieveMultiple({ collection: 'contacts', select: CONTACT_SELECT, filter: ids.map((id) => `contactid eq ${id}`).join(' or '), signal }),
    );
    return parseResponse(listOf(contactRow), raw, 'GET contacts').value;
  }

  private async opportunity(ref: CrmRecordRef): Promise<z.infer<typeof opportunityRow>> {
    const raw = await this.client.run({ method: 'GET', route: 'opportunities({id})' }, (signal) =>
      this.client.api.retrieve({ collection: 'opportunities', key: ref.id, select: ['_parentcontactid_value', '_parentaccountid_value', '_customerid_value'], signal }),
    );
    return parseResponse(opportunityRow, raw, 'GET opportunities({id})');
  }

  private async findContact(email: string): Promise<string | undefined> {
    const raw = await this.client.run({ method: 'GET', route: 'contacts' }, (signal) =>
      this.client.api.retrieveMultiple({ collection: 'contacts', select: ['contactid'], filter: `emailaddress1 eq ${stringLiteral(email.trim())}`, orderBy: ['createdon asc'], top: 1, signal }),
    );
    return parseResponse(listOf(z.looseObject({ contactid: z.string() })), raw, 'GET contacts').value[0]?.contactid;
  }

  private async updateOpportunity(ref: CrmRecordRef, data: Record<string, unknown>): Promise<void> {
    await this.client.run({ method: 'PATCH', route: 'opportunities({id})', idempotent: true }, (signal) =>
      this.client.api.update<Record<string, unknown>, unknown>({ collection: 'opportunities', key: ref.id, data, signal }),
    );
  }

  private async create(entitySet: string, data: Record<string, unknown>): Promise<string> {
    const id = await this.client.run({ method: 'POST', route: entitySet, successStatus: 204 }, (signal) => this.client.api.create<Record<string, unknown>, unknown>({ collection: entitySet, data, signal }));
    if (typeof id !== 'string') throw new CrmApiError(`Dataverse POST ${entitySet} returned no record id`, undefined, 'invalidResponse', false);
    return id;
  }
}
