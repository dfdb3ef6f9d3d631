import type { CrmRecordRef } from './entities.ts';

/** A customer contact as both sides know it; matched across them by e-mail. */
export interface CustomerContact {
  firstName?: string | undefined;
  lastName?: string | undefined;
  email?: string | undefined;
  phone?: string | undefined;
}

/**
 * An opportunity's customer contacts in the CRM (Salesforce OpportunityContactRole; Dynamics parentcontactid and
 * stakeholder connections), read and written after the record's creation. Contact rows are never deleted: removing a
 * contact from a deal only unlinks it.
 */
export interface DealContactsApi {
  /** The contacts linked to the opportunity, primary first. */
  read(ref: CrmRecordRef): Promise<CustomerContact[]>;
  /**
   * Links the contacts to the opportunity: a contact row with the same e-mail is reused (deduplicated by e-mail), else
   * one is created under the opportunity's account. Linking one already linked is a no-op.
   */
  add(ref: CrmRecordRef, contacts: readonly CustomerContact[]): Promise<void>;
  /** Writes the name and phone of the linked contacts with these e-mails. */
  edit(ref: CrmRecordRef, contacts: readonly CustomerContact[]): Promise<void>;
  /** Unlinks the contacts with these e-mails from the opportunity (the contact rows stay). */
  remove(ref: CrmRecordRef, emails: readonly string[]): Promise<void>;
  /**
   * Who made the change a stored notification reports, where the vendor keeps the notifications of our own writes in
   * the inbox (Dataverse): the echo of the sync's own contact and team writes must not make the next sync read them.
   */
  notificationActor?(payload: string): { initiatingUserId: string | undefined; depth: number | undefined } | undefined;
}

/*
 * Notifications about a deal's people rather than its columns: a contact role, a stakeholder connection, an
 * access-team member. Their inbox rows are filed under the opportunity's id with an event name that says which people
 * changed (`deal-people:contacts:…`, `deal-people:team:…`), so a sync of the pair reads only those.
 */
export type DealPeople = 'contacts' | 'team';
const DEAL_PEOPLE_EVENT = 'deal-people';

export const dealPeopleEvent = (people: DealPeople, detail: string): string => `${DEAL_PEOPLE_EVENT}:${people}:${detail}`;

/** Which people an inbox event name reports a change of; undefined for any other notification. */
export function dealPeopleOf(eventName: string): DealPeople | undefined {
  const [prefix, people] = eventName.split(':', 3);
  return prefix === DEAL_PEOPLE_EVENT && (people === 'contacts' || people === 'team') ? people : undefined;
}

/** Opportunity columns (lower case) whose change is a change of the deal's people: the owner, the primary contact. */
export const PEOPLE_COLUMNS: Readonly<Record<string, DealPeople>> = { ownerid: 'team', parentcontactid: 'contacts' };
