import type { CrmConnector, CrmRecordRef, CustomerContact } from '../../crm/connector.ts';
import type { Job, Link } from '../../store/types.ts';
import { CONTACTS_BASE } from '../plan/deal-contacts.ts';
import { TEAM_BASE } from '../plan/deal-team.ts';

/*
 * When a sync reads the opportunity's customer contacts (see plan/deal-contacts.ts). Contact roles and stakeholder
 * connections are rows of their own: adding one does not move the opportunity's version, so a pair that looks settled
 * by versions is still merged when it has never synced its contacts, and on the reconciler's periodic pass (which is
 * what finds a seller's contact change that raised no notification of the opportunity).
 */

/** The contacts of a linked opportunity, where the connector can read them; undefined otherwise (nothing to merge). */
export async function readDealContacts(connector: Pick<CrmConnector, 'dealContacts'>, ref: CrmRecordRef, link: Link | null): Promise<CustomerContact[] | undefined> {
  if (!connector.dealContacts || ref.entity !== 'opportunity' || link === null) return undefined;
  return connector.dealContacts.read(ref);
}

/**
 * Whether a pair that looks settled must still be merged for its contacts: never synced yet, a reconcile pass, or a
 * notification naming the opportunity although its version did not move (a contact role's or stakeholder's change).
 */
export function contactsUnsynced(connector: Pick<CrmConnector, 'dealContacts' | 'dealTeam'>, link: Link, job: Pick<Job, 'cause' | 'crmId'>): boolean {
  if ((!connector.dealContacts && !connector.dealTeam) || link.crmEntity !== 'opportunity') return false;
  const neverSynced = (connector.dealContacts && link.base?.[CONTACTS_BASE] === undefined) || (connector.dealTeam && link.base?.[TEAM_BASE] === undefined);
  return neverSynced === true || job.cause === 'reconcile' || job.crmId !== null;
}
