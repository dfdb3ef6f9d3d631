import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { changedColumns } from '../../../../src/crm/dynamics/webhook.ts';
import { dealPeopleEvent } from '../../../../src/crm/deal-contacts.ts';
import type { Referral } from '../../../../src/partner-center/model.ts';
import { SqliteStore } from '../../../../src/store/sqlite/index.ts';
import type { Link } from '../../../../src/store/types.ts';
import { contactsDigest, CONTACTS_DIGEST_BASE, CONTACTS_READ_AT_BASE } from '../../../../src/sync/plan/deal-contacts.ts';
import { TEAM_DIGEST_BASE, TEAM_READ_AT_BASE, teamDigest } from '../../../../src/sync/plan/deal-team.ts';
import { peopleToRead, peopleUnsynced, type PeopleCheck } from '../../../../src/sync/run/contacts.ts';
import { makeTempDir } from '../../../support/tmp.ts';

/*
 * When a merge reads the opportunity's contacts and team: Partner Center's changed since the pair's last merge of them,
 * a notification about them arrived since the last commit (not the echo of our own write), or the periodic pass.
 * Against a real SQLite inbox; the connector is a stand-in that knows our application user.
 */

const OPPORTUNITY = '0f8fad5b-d9cb-469f-a165-70867728950e';
const OURS = '11111111-1111-4111-8111-111111111111';
const SELLER = '22222222-2222-4222-8222-222222222222';

const referral = {
  id: 'ref-1',
  customerProfile: { name: 'Fabrikam', team: [{ firstName: 'Ann', lastName: 'Lee', email: 'Ann.Lee@fabrikam.example.com', phoneNumber: '5550201' }] },
  team: [{ firstName: 'Pia', lastName: 'Lund', email: 'pia.lund@partner.example.com' }],
} as unknown as Referral;

const committedAt = new Date(Date.now() - 60_000).toISOString();
const agreed = { [CONTACTS_DIGEST_BASE]: contactsDigest(referral.customerProfile?.team ?? []), [TEAM_DIGEST_BASE]: teamDigest(referral.team ?? []) };
const link = (base: Link['base'] = agreed): Link => ({
  connection: 'dynamics',
  referralId: 'ref-1',
  crmEntity: 'opportunity',
  crmId: OPPORTUNITY,
  base,
  pcEtag: 'e1',
  crmVersion: 'v1',
  syncState: 'ok',
  lastError: null,
  createdAt: committedAt,
  updatedAt: committedAt,
});

const body = (initiatingUserId: string, attributes: Record<string, unknown> = {}) =>
  JSON.stringify({
    MessageName: 'Update',
    InitiatingUserId: initiatingUserId,
    Depth: 1,
    InputParameters: [{ key: 'Target', value: { LogicalName: 'opportunity', Id: OPPORTUNITY, Attributes: Object.entries(attributes).map(([key, value]) => ({ key, value })) } }],
  });

describe('which people a merge reads', () => {
  const tmp = makeTempDir();
  afterAll(() => tmp.cleanup());
  let store: SqliteStore;
  let n = 0;
  beforeEach(() => {
    store = SqliteStore.open({ path: join(tmp.path, `people-${++n}.db`), synchronous: 'normal' });
  });

  const check = (job: PeopleCheck['job'] = { cause: 'event', microsoftSide: false }): Omit<PeopleCheck, 'link'> => ({
    connector: {
      kind: 'dynamics',
      dealContacts: { read: async () => [], add: async () => undefined, edit: async () => undefined, remove: async () => undefined, notificationActor: (payload) => (JSON.parse(payload) as { InitiatingUserId: string }).InitiatingUserId ? { initiatingUserId: (JSON.parse(payload) as { InitiatingUserId: string }).InitiatingUserId, depth: 1 } : undefined },
      dealTeam: { read: async () => [], findUsers: async () => [], add: async () => undefined },
      isOwnWrite: async (actor) => actor.initiatingUserId === OURS,
    },
    inbox: store.inbox,
    notifiedChanges: changedColumns,
    job,
  });
  const notify = (eventName: string, payload: string, key = `k${Math.random()}`) =>
    store.inbox.append({ source: 'dynamics', dedupKey: key, eventName, resourceId: OPPORTUNITY, payload });

  it('nothing changed: no reads, and a settled pair stays settled', async () => {
    expect(await peopleToRead({ ...check(), link: link(), referral })).toEqual({ contacts: false, team: false });
    expect(await peopleUnsynced({ ...check(), link: link() })).toBe(false);
  });

  it("Partner Center's contacts or team differ from the last merge of them (or were never merged): those are read", async () => {
    const moved = { ...referral, customerProfile: { ...referral.customerProfile, team: [...(referral.customerProfile?.team ?? []), { email: 'bob@fabrikam.example.com' }] } } as Referral;
    expect(await peopleToRead({ ...check(), link: link(), referral: moved })).toEqual({ contacts: true, team: false });
    const renamed = { ...referral, customerProfile: { ...referral.customerProfile, team: [{ ...referral.customerProfile?.team?.[0], phoneNumber: '5550999' }] } } as Referral;
    expect(await peopleToRead({ ...check(), link: link(), referral: renamed })).toEqual({ contacts: true, team: false });
    const teamMoved = { ...referral, team: [] } as unknown as Referral;
    expect(await peopleToRead({ ...check(), link: link(), referral: teamMoved })).toEqual({ contacts: false, team: true });
    expect(await peopleToRead({ ...check(), link: link({}), referral })).toEqual({ contacts: true, team: true });
    // The same people differently cased or ordered are no change.
    const recased = { ...referral, customerProfile: { ...referral.customerProfile, team: [{ ...referral.customerProfile?.team?.[0], email: 'ann.lee@FABRIKAM.example.com' }] } } as Referral;
    expect(await peopleToRead({ ...check(), link: link(), referral: recased })).toEqual({ contacts: false, team: false });
  });

  it("a seller's people notification since the last commit makes those read and the settled pair merge; an older one does not", async () => {
    await notify(dealPeopleEvent('contacts', 'create'), body(SELLER));
    expect(await peopleToRead({ ...check(), link: link(), referral })).toEqual({ contacts: true, team: false });
    expect(await peopleUnsynced({ ...check(), link: link() })).toBe(true);
    const later = { ...link(), updatedAt: new Date(Date.now() + 60_000).toISOString() };
    expect(await peopleUnsynced({ ...check(), link: later })).toBe(false);
  });

  it('a notification received while the last read of those people ran (after it began, before its commit) is still news', async () => {
    await notify(dealPeopleEvent('contacts', 'create'), body(SELLER));
    const readBefore = new Date(Date.now() - 30_000).toISOString();
    const committedAfter = new Date(Date.now() + 30_000).toISOString();
    const read = { ...link({ ...agreed, [CONTACTS_READ_AT_BASE]: readBefore, [TEAM_READ_AT_BASE]: committedAfter }), updatedAt: committedAfter };
    expect(await peopleToRead({ ...check(), link: read, referral })).toEqual({ contacts: true, team: false });
    const readAfter = { ...read, base: { ...read.base, [CONTACTS_READ_AT_BASE]: committedAfter } };
    expect(await peopleUnsynced({ ...check(), link: readAfter })).toBe(false);
  });

  it('the owner or primary contact named by an Update is a people change; other columns are not', async () => {
    await notify('opportunity-update', body(SELLER, { name: 'Renamed' }));
    expect(await peopleToRead({ ...check(), link: link(), referral })).toEqual({ contacts: false, team: false });
    await notify('opportunity-update', body(SELLER, { ownerid: null }));
    expect(await peopleToRead({ ...check(), link: link(), referral })).toEqual({ contacts: false, team: true });
    await notify('opportunity-update', body(SELLER, { parentcontactid: null }));
    expect(await peopleToRead({ ...check(), link: link(), referral })).toEqual({ contacts: true, team: true });
  });

  it('the echo of our own people write reads nothing', async () => {
    await notify(dealPeopleEvent('contacts', 'create'), body(OURS));
    await notify(dealPeopleEvent('team', 'addusertorecordteam'), body(OURS));
    await notify('opportunity-update', body(OURS, { parentcontactid: null }));
    expect(await peopleToRead({ ...check(), link: link(), referral })).toEqual({ contacts: false, team: false });
    expect(await peopleUnsynced({ ...check(), link: link() })).toBe(false);
  });

  it("the periodic re-read of open co-sell pairs reads both; another reconcile job does not by itself", async () => {
    expect(await peopleToRead({ ...check({ cause: 'reconcile', microsoftSide: true }), link: link(), referral })).toEqual({ contacts: true, team: true });
    expect(await peopleUnsynced({ ...check({ cause: 'reconcile', microsoftSide: true }), link: link() })).toBe(true);
    expect(await peopleToRead({ ...check({ cause: 'reconcile', microsoftSide: false }), link: link(), referral })).toEqual({ contacts: false, team: false });
  });

  it('a lead, or a first link without a base, reads nothing here', async () => {
    expect(await peopleToRead({ ...check(), link: { ...link(), crmEntity: 'lead' }, referral })).toEqual({ contacts: false, team: false });
    expect(await peopleToRead({ ...check(), link: null, referral })).toEqual({ contacts: false, team: false });
  });
});
