import { afterAll, describe, expect, it } from 'vitest';
import { json, reads, sendJson, waitFor, writes, type Row } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { dataverseAs } from '../support/dataverse-identities.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { makeTempDir } from '../support/tmp.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

const tmp = makeTempDir('cosell-people-cost-');
afterAll(() => tmp.cleanup());

/** The bundled mapping with contacts and the team turned off: what a change cost before they were on by default. */
function withoutPeople(crm: 'dynamics' | 'salesforce'): string {
  const mapping = parse(readFileSync(resolve(import.meta.dirname, `../../mappings/${crm}.yaml`), 'utf8')) as { entities: { opportunity: Record<string, unknown> } };
  mapping.entities.opportunity.syncContactsAndTeam = false;
  const file = join(tmp.path, `${crm}-without-people.yaml`);
  writeFileSync(file, stringify(mapping));
  return file;
}

/** Routes of one change, without the CDC long poll (its count depends on timing, not on the sync). */
type Routes = Record<string, number>;
const synced = (routes: Routes): Routes => Object.fromEntries(Object.entries(routes).filter(([route]) => !route.includes('/cometd/')));
interface ChangeCosts {
  pcChange: { pc: Routes; crm: Routes };
  crmChange: { pc: Routes; crm: Routes };
}
const before: { dynamics?: ChangeCosts; salesforce?: ChangeCosts } = {};

/*
 * Contacts and the partner team are on by default (the bundled mappings, no `syncContactsAndTeam` in them), and a
 * change that touches no people costs what it cost before: the opportunity's contacts and team are read only when
 * Partner Center's changed, a notification about them arrived, or the periodic pass comes by. Counted through the
 * sandboxes' request counters, per route. A seller's contact, stakeholder or access-team change reaches the referral
 * through its notification alone, without a reconcile pass.
 */

const ann = { firstName: 'Ann', lastName: 'Lee', email: 'ann.lee@fabrikam.example.com', phoneNumber: '5550201' };
const bob = { firstName: 'Bob', lastName: 'Ray', email: 'bob.ray@fabrikam.example.com', phoneNumber: '5550202' };
const dan = 'dan.poe@fabrikam.example.com';

const emailsOf = (team: unknown): string[] => (Array.isArray(team) ? team.map((m: { email?: unknown }) => String(m.email ?? '').toLowerCase()) : []).sort();
const referralContacts = (referral: Row | undefined): string[] => emailsOf((referral?.customerProfile as { team?: unknown } | undefined)?.team);
const sum = (routes: Record<string, number>, match: (route: string) => boolean): number =>
  Object.entries(routes).filter(([route]) => match(route)).reduce((total, [, n]) => total + n, 0);

const peopleInDynamics = (routes: Routes) => sum(routes, (r) => r.startsWith('GET ') && /connection|contact|team|systemuser/.test(r));

/** A Partner Center change and a seller's edit of a linked Dynamics pair, each counted with the echo of our write dropped. */
async function dynamicsCosts(h: SyncHarness, name: string): Promise<ChangeCosts & { referralId: string; opportunityId: string }> {
  const { referralId, opportunityId } = await h.acceptedPair({ name, customerProfile: { name: 'Fabrikam', address: { postalCode: '98052' }, team: [ann] } });
  // A seller's edit needs its webhook; a Partner Center change is counted without the echo of our Dataverse write.
  const cost = async (change: () => Promise<unknown>, dropWebhooks: boolean) => {
    if (dropWebhooks) await h.dvFaults({ delivery: { dropRate: 1 } });
    await h.resetRequests();
    await change();
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    await h.clearDvFaults();
    return { pc: (await h.pcRequests()).routes, crm: (await h.dvRequests()).routes };
  };
  const pcChange = await cost(() => h.pcSellerEdit(referralId, { details: { dealValue: 71_000 } }), true);
  expect((await h.opportunity(opportunityId))?.estimatedvalue).toBe(71_000);
  const seller = await dataverseAs(h.dv.url, { seller: 'alex.seller@sandbox.onmicrosoft.com' });
  const crmChange = await cost(() => seller.update({ collection: 'opportunities', key: opportunityId, data: { description: `${name}: edited by the seller` } }), false);
  expect((await h.referral(referralId))?.details).toMatchObject({ notes: `${name}: edited by the seller` });
  return { referralId, opportunityId, pcChange, crmChange };
}

describe('Dynamics with contacts and team turned off (the cost before)', () => {
  const h = suiteHarness(() => SyncHarness.start({ mappingFile: withoutPeople('dynamics'), sync: NOTIFICATIONS_ONLY }));

  it('counts a Partner Center change and a seller edit', async () => {
    before.dynamics = await dynamicsCosts(h, 'Fabrikam baseline');
    expect(before.dynamics.pcChange.pc).toEqual({ 'GET /v1.0/engagements/referrals/:id': 1 });
  });
});

describe('Dynamics with contacts and team on (the default): read only when they may have changed, notified when a seller changes them', () => {
  // The bundled mapping, which does not mention syncContactsAndTeam. No reconcile pass runs unless a test asks for
  // one: what reaches the referral comes through notifications.
  const h = suiteHarness(() => SyncHarness.start({ sync: NOTIFICATIONS_ONLY }));

  it('a Partner Center change and a seller edit that touch no people cost what they cost before; a contact added in Partner Center is read and linked', async () => {
    const { referralId, opportunityId, pcChange, crmChange } = await dynamicsCosts(h, 'Fabrikam rollout');
    expect(synced(pcChange.pc)).toEqual(synced(before.dynamics?.pcChange.pc ?? {}));
    expect(synced(pcChange.crm)).toEqual(synced(before.dynamics?.pcChange.crm ?? {}));
    expect(synced(crmChange.pc)).toEqual(synced(before.dynamics?.crmChange.pc ?? {}));
    expect(synced(crmChange.crm)).toEqual(synced(before.dynamics?.crmChange.crm ?? {}));
    expect(peopleInDynamics(pcChange.crm) + peopleInDynamics(crmChange.crm)).toBe(0);

    await h.dvFaults({ delivery: { dropRate: 1 } });
    await h.resetRequests();
    await h.pcPartnerEdit(referralId, [{ path: ['customerProfile', 'team'], value: [ann, bob] }]);
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    await h.clearDvFaults();
    const contactsChange = (await h.dvRequests()).routes;
    expect(peopleInDynamics(contactsChange)).toBeGreaterThan(0);
    const bobRow = (await h.records('contacts')).find((c) => c.emailaddress1 === bob.email);
    expect((await h.records('connections')).some((c) => c._record1id_value === opportunityId && c._record2id_value === bobRow?.contactid)).toBe(true);

    console.info(
      [
        'Dynamics, per change of a linked co-sell pair (echo of our Dataverse write dropped), contacts and team off → on:',
        `  Partner Center change: Partner Center ${reads(before.dynamics?.pcChange.pc ?? {})} → ${reads(pcChange.pc)} reads; Dataverse ${reads(before.dynamics?.pcChange.crm ?? {})} → ${reads(pcChange.crm)} reads, ${writes(before.dynamics?.pcChange.crm ?? {})} → ${writes(pcChange.crm)} writes`,
        `  seller edit: Partner Center ${reads(before.dynamics?.crmChange.pc ?? {})} → ${reads(crmChange.pc)} reads, ${writes(before.dynamics?.crmChange.pc ?? {})} → ${writes(crmChange.pc)} writes; Dataverse ${reads(before.dynamics?.crmChange.crm ?? {})} → ${reads(crmChange.crm)} reads`,
        `  contact added in Partner Center (on): Dataverse ${reads(contactsChange)} reads (${peopleInDynamics(contactsChange)} of people), ${writes(contactsChange)} writes`,
      ].join('\n'),
    );
  });

  it("a seller's stakeholder and access-team member reach the referral through their notifications (no reconcile pass)", async () => {
    const { referralId, opportunityId } = await h.acceptedPair({ name: 'Fabrikam expansion', customerProfile: { name: 'Fabrikam', address: { postalCode: '98052' }, team: [ann] } });
    const seller = await dataverseAs(h.dv.url, { seller: 'alex.seller@sandbox.onmicrosoft.com' });

    const contact = await seller.create<Record<string, unknown>, { contactid: string }>({ collection: 'contacts', data: { firstname: 'Dan', lastname: 'Poe', emailaddress1: dan }, returnRepresentation: true });
    const role = (await seller.retrieveMultiple<{ connectionroleid: string }>({ collection: 'connectionroles', select: ['connectionroleid'], filter: "name eq 'Stakeholder'" })).value[0];
    await seller.create({
      collection: 'connections',
      data: {
        'record1id_opportunity@odata.bind': `/opportunities(${opportunityId})`,
        'record2id_contact@odata.bind': `/contacts(${contact.contactid})`,
        'record2roleid@odata.bind': `/connectionroles(${String(role?.connectionroleid)})`,
      },
    });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    expect(referralContacts(await h.referral(referralId))).toEqual([ann.email, dan]);

    const jordan = 'jordan.rep@sandbox.onmicrosoft.com';
    const jordanId = (await seller.retrieveMultiple<{ systemuserid: string }>({ collection: 'systemusers', select: ['systemuserid'], filter: `internalemailaddress eq '${jordan}'` })).value[0]?.systemuserid;
    const template = (await seller.retrieveMultiple<{ teamtemplateid: string }>({ collection: 'teamtemplates', select: ['teamtemplateid'], filter: 'objecttypecode eq 3' })).value[0]?.teamtemplateid;
    await seller.callAction({
      actionName: 'Microsoft.Dynamics.CRM.AddUserToRecordTeam',
      collection: 'systemusers',
      key: jordanId,
      action: { Record: { '@odata.type': 'Microsoft.Dynamics.CRM.opportunity', opportunityid: opportunityId }, TeamTemplate: { '@odata.type': 'Microsoft.Dynamics.CRM.teamtemplate', teamtemplateid: template } },
    });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    expect(emailsOf((await h.referral(referralId))?.team)).toContain(jordan);
  });
});

/** SOQL queries: the contact roles, owner, team members and users are read by query. */
const queries = (routes: Routes) => sum(routes, (r) => r.startsWith('GET ') && /query/.test(r));

async function salesforceCosts(h: SalesforceSyncHarness, name: string): Promise<ChangeCosts & { referralId: string; opportunityId: string }> {
  const referral = await h.incomingReferral({ name, customerProfile: { name: 'Fabrikam', address: { postalCode: '98052' }, team: [ann] } });
  const opportunityId = String((await waitFor('the opportunity', () => h.opportunityFor(referral.id))).Id);
  await h.waitForIdle();
  await h.pcPartnerAccept(referral.id);
  await h.waitForIdle();
  const cost = async (change: () => Promise<unknown>, settled: () => Promise<boolean>) => {
    await h.waitForIdle();
    await h.resetRequests();
    await change();
    await waitFor('the change synced', async () => ((await settled()) ? true : undefined));
    await h.waitForIdle();
    return { pc: (await h.pcRequests()).routes, crm: (await h.sfRequests()).routes };
  };
  const pcChange = await cost(() => h.pcSellerEdit(referral.id, { details: { dealValue: 72_000 } }), async () => (await h.opportunity(opportunityId))?.Amount === 72_000);
  const notes = `${name}: edited by the seller`;
  const crmChange = await cost(
    () => h.sfSellerEdit('Opportunity', opportunityId, { Description: notes }),
    async () => ((await h.referral(referral.id))?.details as { notes?: unknown } | undefined)?.notes === notes,
  );
  return { referralId: referral.id, opportunityId, pcChange, crmChange };
}

describe('Salesforce with contacts and team turned off (the cost before)', () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ mappingFile: withoutPeople('salesforce'), sync: NOTIFICATIONS_ONLY }));

  it('counts a Partner Center change and a seller edit', async () => {
    before.salesforce = await salesforceCosts(h, 'Fabrikam baseline');
    expect(writes(before.salesforce.pcChange.crm)).toBeGreaterThan(0);
  });
});

describe('Salesforce with contacts and team on (the default): read only when they may have changed, a contact role notified by its change event', () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ sync: NOTIFICATIONS_ONLY }));

  it("changes that touch no people cost what they cost before; a contact added in Partner Center is queried and linked; a seller's contact role reaches the referral by CDC", async () => {
    const { referralId, opportunityId, pcChange, crmChange } = await salesforceCosts(h, 'Fabrikam rollout');
    expect(synced(pcChange.pc)).toEqual(synced(before.salesforce?.pcChange.pc ?? {}));
    expect(synced(pcChange.crm)).toEqual(synced(before.salesforce?.pcChange.crm ?? {}));
    expect(synced(crmChange.pc)).toEqual(synced(before.salesforce?.crmChange.pc ?? {}));
    expect(synced(crmChange.crm)).toEqual(synced(before.salesforce?.crmChange.crm ?? {}));

    const roleEmails = async (): Promise<string[]> => {
      const contacts = await h.records('Contact');
      const roles = (await h.records('OpportunityContactRole')).filter((r) => r.OpportunityId === opportunityId);
      return roles.map((r) => String(contacts.find((c) => c.Id === r.ContactId)?.Email ?? '').toLowerCase()).sort();
    };
    await h.resetRequests();
    await h.pcPartnerEdit(referralId, [{ path: ['customerProfile', 'team'], value: [ann, bob] }]);
    await waitFor('Bob on the opportunity', async () => ((await roleEmails()).includes(bob.email) ? true : undefined));
    await h.waitForIdle();
    const contactsChange = (await h.sfRequests()).routes;
    expect(queries(contactsChange)).toBeGreaterThan(queries(pcChange.crm));

    const accountId = String((await h.opportunity(opportunityId))?.AccountId);
    const created = await json<Row>(`${h.sf.url}/_sandbox/records/Contact`, sendJson('POST', { FirstName: 'Dan', LastName: 'Poe', Email: dan, AccountId: accountId }));
    await json(`${h.sf.url}/_sandbox/records/OpportunityContactRole`, sendJson('POST', { OpportunityId: opportunityId, ContactId: created.id ?? created.Id }));
    await waitFor("the seller's contact in the referral", async () => (referralContacts(await h.referral(referralId)).includes(dan) ? true : undefined));
    await h.waitForIdle();
    expect(referralContacts(await h.referral(referralId))).toEqual([ann.email, bob.email, dan]);

    const b = before.salesforce;
    console.info(
      [
        'Salesforce, per change of a linked co-sell pair, contacts and team off → on:',
        `  Partner Center change: Partner Center ${reads(b?.pcChange.pc ?? {})} → ${reads(pcChange.pc)} reads; Salesforce ${reads(synced(b?.pcChange.crm ?? {}))} → ${reads(synced(pcChange.crm))} reads, ${writes(b?.pcChange.crm ?? {})} → ${writes(pcChange.crm)} writes`,
        `  seller edit: Partner Center ${reads(b?.crmChange.pc ?? {})} → ${reads(crmChange.pc)} reads, ${writes(b?.crmChange.pc ?? {})} → ${writes(crmChange.pc)} writes; Salesforce ${reads(synced(b?.crmChange.crm ?? {}))} → ${reads(synced(crmChange.crm))} reads`,
        `  contact added in Partner Center (on): Salesforce ${queries(contactsChange)} queries, ${writes(contactsChange)} writes`,
      ].join('\n'),
    );
  });
});
