import { afterAll, describe, expect, it } from 'vitest';
import { json, sendJson, waitFor, type Row } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { dataverseAs } from '../support/dataverse-identities.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { makeTempDir } from '../support/tmp.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

const tmp = makeTempDir('cosell-contacts-');
afterAll(() => tmp.cleanup());

/** The bundled mapping with contacts and the team switched on (`syncContactsAndTeam`, opt-in). */
function withContactsAndTeam(crm: 'dynamics' | 'salesforce'): string {
  const mapping = parse(readFileSync(resolve(import.meta.dirname, `../../mappings/${crm}.yaml`), 'utf8')) as { entities: { opportunity: Record<string, unknown> } };
  mapping.entities.opportunity.syncContactsAndTeam = true;
  const file = join(tmp.path, `${crm}.yaml`);
  writeFileSync(file, stringify(mapping));
  return file;
}

/*
 * A deal's customer contacts after creation, both ways, on each CRM through its own API acting as a seller: a contact
 * the partner adds to the referral in Partner Center appears on the opportunity (Salesforce OpportunityContactRole,
 * Dynamics primary contact / stakeholder connection), reusing the CRM contact with the same e-mail rather than making
 * a second; a contact the seller adds to the opportunity appears in the referral's customer contacts.
 */

const ann = { firstName: 'Ann', lastName: 'Lee', email: 'ann.lee@tailwind.example.com', phoneNumber: '5550101' };
const bob = { firstName: 'Bob', lastName: 'Ray', email: 'bob.ray@tailwind.example.com', phoneNumber: '5550102' };
const cat = { firstName: 'Cat', lastName: 'Moe', email: 'cat.moe@tailwind.example.com', phoneNumber: '5550103' };

const emailsOf = (team: unknown): string[] => (Array.isArray(team) ? team.map((m: { email?: unknown }) => String(m.email ?? '').toLowerCase()) : []).sort();
const referralEmails = (referral: Row | undefined): string[] => emailsOf((referral?.customerProfile as { team?: unknown } | undefined)?.team);

describe('customer contacts after creation on a linked Salesforce opportunity', () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ mappingFile: withContactsAndTeam('salesforce'), sync: NOTIFICATIONS_ONLY }));
  const sfCreate = (sobject: string, body: Row) => json<Row>(`${h.sf.url}/_sandbox/records/${sobject}`, sendJson('POST', body));
  const roleEmails = async (opportunityId: string): Promise<string[]> => {
    const contacts = await h.records('Contact');
    const roles = (await h.records('OpportunityContactRole')).filter((r) => r.OpportunityId === opportunityId);
    return roles.map((r) => String(contacts.find((c) => c.Id === r.ContactId)?.Email ?? '').toLowerCase()).sort();
  };
  const contactsWith = async (email: string) => (await h.records('Contact')).filter((c) => String(c.Email ?? '').toLowerCase() === email);

  it('Partner Center additions appear as contact roles (same e-mail reused), a seller\'s contact role appears in the referral', async () => {
    const referral = await h.incomingReferral({ name: 'Tailwind rollout', customerProfile: { name: 'Tailwind Traders', address: { postalCode: '98052' }, team: [ann] } });
    const created = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    const opportunityId = String(created.Id);
    await h.waitForIdle();
    await h.pcPartnerAccept(referral.id);
    await h.waitForIdle();
    const accountId = String((await h.opportunity(opportunityId))?.AccountId);
    // Bob is already a contact in the org (another deal's): the sync must link him, not create a second Bob.
    await sfCreate('Contact', { FirstName: 'Bob', LastName: 'Ray', Email: bob.email, AccountId: accountId });

    await h.pcPartnerEdit(referral.id, [{ path: ['customerProfile', 'team'], value: [ann, bob, cat] }]);
    await waitFor('the three contacts on the opportunity', async () =>
      JSON.stringify(await roleEmails(opportunityId)) === JSON.stringify([ann.email, bob.email, cat.email]) ? true : undefined,
    );
    await h.waitForIdle();
    expect(await contactsWith(bob.email)).toHaveLength(1);
    expect(await contactsWith(ann.email)).toHaveLength(1);
    expect(await contactsWith(cat.email)).toHaveLength(1);

    const dan = await sfCreate('Contact', { FirstName: 'Dan', LastName: 'Poe', Email: 'dan.poe@tailwind.example.com', AccountId: accountId });
    await sfCreate('OpportunityContactRole', { OpportunityId: opportunityId, ContactId: dan.id ?? dan.Id });
    await waitFor('the seller\'s contact in the referral', async () => (referralEmails(await h.referral(referral.id)).includes('dan.poe@tailwind.example.com') ? true : undefined));
    await h.waitForIdle();
    expect(referralEmails(await h.referral(referral.id))).toEqual([ann.email, bob.email, cat.email, 'dan.poe@tailwind.example.com']);
    expect(await roleEmails(opportunityId)).toHaveLength(4);
    const trail = (await h.audit({ referralId: referral.id, limit: 200 })).map((e) => e.message ?? '');
    expect(trail).toContain('customer contact dan.poe@tailwind.example.com added to the referral');
  });
});

describe('customer contacts after creation on a linked Dynamics opportunity', () => {
  // The periodic re-read of open co-sell pairs due on every pass: a stakeholder connection raises no notification the
  // service registers for, and that re-read is what finds it.
  const h = suiteHarness(() => SyncHarness.start({ mappingFile: withContactsAndTeam('dynamics'), sync: { ...NOTIFICATIONS_ONLY, microsoftSideRefreshHours: 1e-9 } }));
  const linkedEmails = async (opportunityId: string): Promise<string[]> => {
    const contacts = await h.records('contacts');
    const opportunity = await h.opportunity(opportunityId);
    const ids = [opportunity?._parentcontactid_value, ...(await h.records('connections')).filter((c) => c._record1id_value === opportunityId && c.record2objecttypecode === 2).map((c) => c._record2id_value)];
    const emails = ids.filter((id) => typeof id === 'string').map((id) => String(contacts.find((c) => c.contactid === id)?.emailaddress1 ?? '').toLowerCase());
    return [...new Set(emails)].sort();
  };
  const contactsWith = async (email: string) => (await h.records('contacts')).filter((c) => String(c.emailaddress1 ?? '').toLowerCase() === email);

  it('Partner Center additions appear as primary contact and stakeholders (same e-mail reused), a seller\'s stakeholder appears in the referral', async () => {
    const { referralId, opportunityId } = await h.acceptedPair({ name: 'Tailwind rollout', customerProfile: { name: 'Tailwind Traders', address: { postalCode: '98052' }, team: [ann] } });
    const accountId = String((await h.opportunity(opportunityId))?._parentaccountid_value);
    await h.dvCreate('contacts', { firstname: 'Bob', lastname: 'Ray', emailaddress1: bob.email, 'parentcustomerid_account@odata.bind': `/accounts(${accountId})` });

    await h.pcPartnerEdit(referralId, [{ path: ['customerProfile', 'team'], value: [ann, bob, cat] }]);
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    expect(await linkedEmails(opportunityId)).toEqual([ann.email, bob.email, cat.email]);
    expect(await contactsWith(bob.email)).toHaveLength(1);
    expect(await contactsWith(ann.email)).toHaveLength(1);

    const dan = await h.dvCreate('contacts', { firstname: 'Dan', lastname: 'Poe', emailaddress1: 'dan.poe@tailwind.example.com' });
    const roles = await h.records('connectionroles');
    const stakeholder = roles.find((r) => r.name === 'Stakeholder');
    await h.dvCreate('connections', {
      'record1id_opportunity@odata.bind': `/opportunities(${opportunityId})`,
      'record2id_contact@odata.bind': `/contacts(${String(dan.contactid)})`,
      'record2roleid@odata.bind': `/connectionroles(${String(stakeholder?.connectionroleid)})`,
    });
    // The first pass starts the re-read clock; the next one queues the open co-sell pair, which reads its stakeholders.
    await h.reconcile();
    await h.runWorkerUntilIdle();
    expect((await h.reconcile()).microsoftSideRefreshed).toBeGreaterThanOrEqual(1);
    await h.runWorkerUntilIdle();
    expect(referralEmails(await h.referral(referralId))).toEqual([ann.email, bob.email, cat.email, 'dan.poe@tailwind.example.com']);
  });
});

describe('partner team ⇄ Salesforce Opportunity Team', () => {
  const h = suiteHarness(() => SalesforceSyncHarness.start({ mappingFile: withContactsAndTeam('salesforce'), sync: { ...NOTIFICATIONS_ONLY, microsoftSideRefreshHours: 1e-9 } }));
  const teamEmails = async (opportunityId: string): Promise<string[]> => {
    const users = await h.records('User');
    const members = (await h.records('OpportunityTeamMember')).filter((m) => m.OpportunityId === opportunityId);
    return members.map((m) => String(users.find((u) => u.Id === m.UserId)?.Email ?? '').toLowerCase()).sort();
  };

  it('a member maps to the user with that e-mail, an unknown one is audited and not created, a seller\'s team member reaches the referral', async () => {
    const seeded = await json<{ value: Row[] }>(
      `${h.sf.url}/_sandbox/users`,
      sendJson('POST', { users: [{ firstName: 'Pia', lastName: 'Lund', email: 'pia.lund@partner.example.com' }, { firstName: 'Ola', lastName: 'Berg', email: 'ola.berg@partner.example.com' }] }),
    ).catch(() => undefined);
    expect(seeded).toBeDefined();
    const referral = await h.incomingReferral({ name: 'Team deal', customerProfile: { name: 'Team Customer', address: { postalCode: '98053' } } });
    const created = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    const opportunityId = String(created.Id);
    await h.waitForIdle();
    await h.pcPartnerAccept(referral.id);
    await h.waitForIdle();

    await h.pcPartnerEdit(referral.id, [{ path: ['team'], value: [{ firstName: 'Pia', lastName: 'Lund', email: 'PIA.lund@partner.example.com' }, { firstName: 'Nobody', lastName: 'Here', email: 'nobody@partner.example.com' }] }]);
    await waitFor('Pia on the opportunity team', async () => ((await teamEmails(opportunityId)).includes('pia.lund@partner.example.com') ? true : undefined));
    await h.waitForIdle();
    expect(await teamEmails(opportunityId)).toEqual(['pia.lund@partner.example.com']);
    expect((await h.records('User')).filter((u) => String(u.Email ?? '').toLowerCase() === 'nobody@partner.example.com')).toHaveLength(0);
    const trail = (await h.audit({ referralId: referral.id, limit: 200 })).map((e) => e.message ?? '');
    expect(trail.filter((m) => m.includes('nobody@partner.example.com has no CRM user with that e-mail'))).toHaveLength(1);

    const ola = (await h.records('User')).find((u) => u.Email === 'ola.berg@partner.example.com');
    await json(`${h.sf.url}/_sandbox/records/OpportunityTeamMember`, sendJson('POST', { OpportunityId: opportunityId, UserId: ola?.Id }));
    // OpportunityTeamMember raises no change event: the periodic re-read of open co-sell pairs finds it.
    await h.reconcile();
    await h.waitForIdle();
    expect((await h.reconcile()).microsoftSideRefreshed).toBeGreaterThanOrEqual(1);
    await waitFor('Ola in the referral team', async () => (emailsOf((await h.referral(referral.id))?.team).includes('ola.berg@partner.example.com') ? true : undefined));
    await h.waitForIdle();
    const team = emailsOf((await h.referral(referral.id))?.team);
    expect(team).toEqual(['nobody@partner.example.com', 'ola.berg@partner.example.com', 'pia.lund@partner.example.com']);
    const again = (await h.audit({ referralId: referral.id, limit: 200 })).map((e) => e.message ?? '');
    expect(again.filter((m) => m.includes('nobody@partner.example.com has no CRM user with that e-mail'))).toHaveLength(1);
  });
});

describe('partner team ⇄ Dynamics owner and access team', () => {
  const h = suiteHarness(() => SyncHarness.start({ mappingFile: withContactsAndTeam('dynamics'), sync: { ...NOTIFICATIONS_ONLY, microsoftSideRefreshHours: 1e-9 } }));
  const alex = 'alex.seller@sandbox.onmicrosoft.com';
  const jordan = 'jordan.rep@sandbox.onmicrosoft.com';

  it('a member maps to the user with that e-mail, an unknown one is audited and not created, a seller\'s access-team member reaches the referral', async () => {
    const { referralId, opportunityId } = await h.acceptedPair({ name: 'Team deal', customerProfile: { name: 'Team Customer', address: { postalCode: '98054' } } });
    const seller = await dataverseAs(h.dv.url, { seller: alex });
    const accessTeamEmails = async (): Promise<string[]> => {
      const teams = (await seller.retrieveMultiple<{ teamid: string }>({ collection: 'teams', select: ['teamid'], filter: `_regardingobjectid_value eq ${opportunityId} and teamtype eq 1` })).value;
      const emails: string[] = [];
      for (const team of teams) {
        const members = (await seller.retrieve<{ value: Array<{ internalemailaddress?: string }> }>({ collection: 'teams', key: team.teamid, navigationProperty: 'teammembership_association', select: ['internalemailaddress'] })).value;
        emails.push(...members.map((m) => String(m.internalemailaddress ?? '').toLowerCase()));
      }
      return emails.sort();
    };

    await h.pcPartnerEdit(referralId, [{ path: ['team'], value: [{ firstName: 'Alex', lastName: 'Seller', email: 'Alex.Seller@sandbox.onmicrosoft.com' }, { firstName: 'Nobody', lastName: 'Here', email: 'nobody@partner.example.com' }] }]);
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    expect(await accessTeamEmails()).toEqual([alex]);
    const users = (await seller.retrieveMultiple<{ internalemailaddress?: string }>({ collection: 'systemusers', select: ['internalemailaddress'] })).value;
    expect(users.filter((u) => u.internalemailaddress === 'nobody@partner.example.com')).toHaveLength(0);
    const trail = (await h.audit({ referralId, limit: 200 })).map((e) => e.message ?? '');
    expect(trail.filter((m) => m.includes('nobody@partner.example.com has no CRM user with that e-mail'))).toHaveLength(1);

    // The seller adds a colleague to the deal's access team, as the form's "Sales Team" subgrid does.
    const jordanId = (await seller.retrieveMultiple<{ systemuserid: string }>({ collection: 'systemusers', select: ['systemuserid'], filter: `internalemailaddress eq '${jordan}'` })).value[0]?.systemuserid;
    const template = (await seller.retrieveMultiple<{ teamtemplateid: string }>({ collection: 'teamtemplates', select: ['teamtemplateid'], filter: 'objecttypecode eq 3' })).value[0]?.teamtemplateid;
    await seller.callAction({
      actionName: 'Microsoft.Dynamics.CRM.AddUserToRecordTeam',
      collection: 'systemusers',
      key: jordanId,
      action: { Record: { '@odata.type': 'Microsoft.Dynamics.CRM.opportunity', opportunityid: opportunityId }, TeamTemplate: { '@odata.type': 'Microsoft.Dynamics.CRM.teamtemplate', teamtemplateid: template } },
    });
    // Access-team changes raise no webhook: the periodic re-read of open co-sell pairs finds them.
    await h.reconcile();
    await h.runWorkerUntilIdle();
    expect((await h.reconcile()).microsoftSideRefreshed).toBeGreaterThanOrEqual(1);
    await h.runWorkerUntilIdle();
    expect(emailsOf((await h.referral(referralId))?.team)).toEqual([alex, jordan, 'nobody@partner.example.com']);
    const again = (await h.audit({ referralId, limit: 200 })).map((e) => e.message ?? '');
    expect(again.filter((m) => m.includes('nobody@partner.example.com has no CRM user with that e-mail'))).toHaveLength(1);
  });
});
