import type { CrmConnector, CrmRecordRef, CustomerContact } from '../../crm/connector.ts';
import type { Job, Link } from '../../store/types.ts';

/*
 * When a sync reads the opportunity's customer contacts (see plan/deal-contacts.ts). Contact roles and stakeholder
 * connections are rows of their own: adding one does not move the opportunity's version, so a pair that looks settled
 * by versions is still merged on a notification naming the opportunity and on the reconciler's passes (the periodic
 * re-read of open co-sell pairs is what finds a seller's change that raised no notification).
 */

/** The contacts of a linked opportunity, where the connector can read them; undefined otherwise (nothing to merge). */
export async function readDealContacts(connector: Pick<CrmConnector, 'dealContacts'>, ref: CrmRecordRef, link: Link | null): Promise<CustomerContact[] | undefined> {
  if (!connector.dealContacts || ref.entity !== 'opportunity' || link === null) return undefined;
  return connector.dealContacts.read(ref);
}

/**
 * Whether a pair that looks settled must still be merged for its contacts and team: a reconcile pass, or a notification
 * naming the opportunity although its version did not move (a contact role's change).
 */
export function contactsUnsynced(connector: Pick<CrmConnector, 'dealContacts' | 'dealTeam'>, link: Link, job: Pick<Job, 'cause' | 'crmId'>): boolean {
  if ((!connector.dealContacts && !connector.dealTeam) || link.crmEntity !== 'opportunity') return false;
  // A pair that never synced its people (linked by a backfill, or before this release) is not forced through a merge by
  // the echo of its own link: that would cost reads per referral. Its next merge, or the periodic pass, syncs them.
  return job.cause === 'reconcile' || job.crmId !== null;
}
