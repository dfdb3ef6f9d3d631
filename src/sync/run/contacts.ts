import type { CrmConnector, CrmRecordRef, CustomerContact } from '../../crm/connector.ts';
import { dealPeopleOf, PEOPLE_COLUMNS, type DealPeople } from '../../crm/deal-contacts.ts';
import type { NotifiedChangesReader } from '../../crm/notifications.ts';
import type { Referral } from '../../partner-center/model.ts';
import type { Inbox, Job, Link } from '../../store/types.ts';
import { CONTACTS_READ_AT_BASE, referralContactsChanged } from '../plan/deal-contacts.ts';
import { referralTeamChanged, TEAM_READ_AT_BASE } from '../plan/deal-team.ts';
import type { SyncRun } from './sync-run.ts';

/*
 * When a sync reads the opportunity's customer contacts and team (see plan/deal-contacts.ts, plan/deal-team.ts). They
 * cost 1-3 reads each, so a merge reads them only when they may have changed:
 * - Partner Center's side differs from what the pair's last merge of them left (a digest kept in the base);
 * - a notification about the deal's people arrived since they were last read (a contact role, a stakeholder
 *   connection, an access-team member, the owner or primary contact), other than the echo of our own write;
 * - the reconciler's periodic re-read of open co-sell pairs, which finds what raised no notification (Salesforce
 *   OpportunityTeamMember has no change events; a lost webhook).
 * Contact roles and stakeholder connections are rows of their own: adding one does not move the opportunity's
 * version, so a pair that looks settled by versions is still merged when such a notification names the opportunity.
 */

export interface PeopleReads {
  contacts: boolean;
  team: boolean;
}

const NONE: PeopleReads = { contacts: false, team: false };

/** The newest notifications of a record looked at: more than a burst of edits between two syncs of one pair. */
const PEOPLE_INBOX_PAGE = 20;

export interface PeopleCheck {
  connector: Pick<CrmConnector, 'kind' | 'dealContacts' | 'dealTeam' | 'isOwnWrite'>;
  inbox: Pick<Inbox, 'list'>;
  /** The vendor's reader of the columns a stored notification names (the owner, the primary contact). */
  notifiedChanges: NotifiedChangesReader | undefined;
  link: Link;
  job: Pick<Job, 'cause' | 'microsoftSide'>;
}

/** A run's side of a `PeopleCheck`: the caller adds the link it is about. */
export function peopleCheckOf(run: SyncRun, inbox: PeopleCheck['inbox']): Omit<PeopleCheck, 'link'> {
  return { connector: run.connector, inbox, notifiedChanges: run.connection.notifiedChanges, job: run.job };
}

function syncsPeople(connector: PeopleCheck['connector'], link: Link | null): link is Link {
  return link !== null && link.crmEntity === 'opportunity' && (connector.dealContacts !== undefined || connector.dealTeam !== undefined);
}

/** The reconciler's periodic re-read of an open co-sell pair (see Reconciler.refreshMicrosoftSide). */
const periodicPass = (job: PeopleCheck['job']): boolean => job.cause === 'reconcile' && job.microsoftSide === true;

/**
 * Since when a notification about these people is news: since the last merge of them began reading the CRM (one that
 * arrived while that sync ran may describe a change it did not see), else since the pair's last commit.
 */
function newsSince(link: Link, people: DealPeople): number {
  const readAt = link.base[people === 'contacts' ? CONTACTS_READ_AT_BASE : TEAM_READ_AT_BASE];
  const at = typeof readAt === 'string' ? Date.parse(readAt) : Number.NaN;
  return Number.isNaN(at) ? Date.parse(link.updatedAt) : at;
}

/** Which people the notifications received for the opportunity since they were last read say changed. */
export async function notifiedPeople(check: PeopleCheck): Promise<PeopleReads> {
  const { connector, link } = check;
  const since = { contacts: newsSince(link, 'contacts'), team: newsSince(link, 'team') };
  const rows = await check.inbox.list({ limit: PEOPLE_INBOX_PAGE, source: connector.kind, resourceId: link.crmId });
  const found = { ...NONE };
  for (const row of rows) {
    const receivedAt = Date.parse(row.receivedAt);
    if (!(receivedAt > Math.min(since.contacts, since.team))) break; // newest first: the rest are older still
    const people = new Set<DealPeople>();
    const named = dealPeopleOf(row.eventName);
    if (named) people.add(named);
    for (const column of check.notifiedChanges?.(row.payload)?.columns ?? []) {
      const changed = PEOPLE_COLUMNS[column];
      if (changed) people.add(changed);
    }
    for (const p of people) if (!(receivedAt > since[p])) people.delete(p);
    if ([...people].every((p) => found[p])) continue; // nothing this row could add
    const actor = connector.dealContacts?.notificationActor?.(row.payload);
    if (actor && (await connector.isOwnWrite?.(actor)) === true) continue; // the echo of our own write
    if (people.has('contacts')) found.contacts = true;
    if (people.has('team')) found.team = true;
  }
  return found;
}

/** Whether a pair that looks settled by versions must still be merged for its people (see the top of this file). */
export async function peopleUnsynced(check: Omit<PeopleCheck, 'link'> & { link: Link }): Promise<boolean> {
  if (!syncsPeople(check.connector, check.link)) return false;
  if (periodicPass(check.job)) return true;
  const notified = await notifiedPeople(check);
  return notified.contacts || notified.team;
}

/** Which of the opportunity's people a merge of a linked pair reads (see the top of this file). */
export async function peopleToRead(check: Omit<PeopleCheck, 'link'> & { link: Link | null; referral: Referral }): Promise<PeopleReads> {
  const { link } = check;
  if (!syncsPeople(check.connector, link)) return NONE;
  if (periodicPass(check.job)) return { contacts: true, team: true };
  const pcContacts = referralContactsChanged(check.referral, link.base);
  const pcTeam = referralTeamChanged(check.referral, link.base);
  if (pcContacts && pcTeam) return { contacts: true, team: true };
  const notified = await notifiedPeople({ ...check, link });
  return { contacts: pcContacts || notified.contacts, team: pcTeam || notified.team };
}

/** The contacts of a linked opportunity, where the connector can read them; undefined otherwise (nothing to merge). */
export async function readDealContacts(connector: Pick<CrmConnector, 'dealContacts'>, ref: CrmRecordRef, link: Link | null): Promise<CustomerContact[] | undefined> {
  if (!connector.dealContacts || ref.entity !== 'opportunity' || link === null) return undefined;
  return connector.dealContacts.read(ref);
}
