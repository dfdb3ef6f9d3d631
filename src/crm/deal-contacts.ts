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
}
