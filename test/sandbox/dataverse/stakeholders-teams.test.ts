import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_USERS } from '../../../src/sandbox/dataverse/index.ts';
import { expectFailure, startHarness, waitFor, WebhookReceiver, type SandboxHarness } from './helpers.ts';

interface Connection {
  connectionid: string;
  name: string | null;
  ismaster: boolean;
  _record1id_value: string;
  _record2id_value: string;
  _record1roleid_value: string | null;
  _record2roleid_value: string | null;
  _relatedconnectionid_value: string | null;
  record1objecttypecode: number;
  record2objecttypecode: number;
}

interface ExecutionContext {
  MessageName: string;
  PrimaryEntityName: string;
  PrimaryEntityId: string;
}

const TEAM_TEMPLATE = { '@odata.type': 'Microsoft.Dynamics.CRM.teamtemplate' };

describe("an opportunity's stakeholders, owner and access team through the Web API (dynamics-web-api)", () => {
  let h: SandboxHarness;
  let receiver: WebhookReceiver;
  let opportunityId = '';
  let contactIds: string[] = [];
  let decisionMakerRoleId = '';
  let influencerRoleId = '';
  let templateId = '';

  const connectionsOf = async (recordId: string): Promise<Connection[]> =>
    (await h.api.retrieveMultiple<Connection>({ collection: 'connections', filter: `_record1id_value eq ${recordId}` })).value;

  /** What `cosell setup dynamics` does ("Register a webhook"): message + table filter ids, then the step. */
  const registerStep = async (message: string, table: string, endpointId: string, filteringattributes?: string): Promise<void> => {
    const messages = await h.api.retrieveMultiple<{ sdkmessageid: string }>({ collection: 'sdkmessages', select: ['sdkmessageid'], filter: `name eq '${message}'` });
    const messageId = messages.value[0]?.sdkmessageid ?? '';
    const filters = await h.api.retrieveMultiple<{ sdkmessagefilterid: string }>({ collection: 'sdkmessagefilters', filter: `primaryobjecttypecode eq '${table}' and _sdkmessageid_value eq ${messageId}` });
    expect(filters.value).toHaveLength(1);
    await h.api.create({
      collection: 'sdkmessageprocessingsteps',
      data: {
        name: `cosell-sync: ${message} of ${table}`,
        mode: 1,
        stage: 40,
        rank: 1,
        ...(filteringattributes ? { filteringattributes } : {}),
        'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
        'sdkmessageid@odata.bind': `/sdkmessages(${messageId})`,
        'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${filters.value[0]?.sdkmessagefilterid ?? ''})`,
      },
    });
  };
  let endpointId = '';

  beforeAll(async () => {
    h = await startHarness();
    receiver = await new WebhookReceiver().start();
    const seeded = await h.control<{ created: { contacts: string[] } }>('POST', '/_sandbox/seed', { accounts: 1, contacts: 3 });
    contactIds = seeded.body.created.contacts;
    opportunityId = await h.api.create({ collection: 'opportunities', data: { name: 'Stakeholder deal', 'parentcontactid@odata.bind': `/contacts(${contactIds[0]})` } });
    const roles = await h.api.retrieveMultiple<{ connectionroleid: string; name: string }>({ collection: 'connectionroles', select: ['connectionroleid', 'name'], filter: 'category eq 1000' });
    decisionMakerRoleId = roles.value.find((role) => role.name === 'Decision Maker')?.connectionroleid ?? '';
    influencerRoleId = roles.value.find((role) => role.name === 'Influencer')?.connectionroleid ?? '';
    const templates = await h.api.retrieveMultiple<{ teamtemplateid: string }>({ collection: 'teamtemplates', filter: 'objecttypecode eq 3' });
    templateId = templates.value[0]?.teamtemplateid ?? '';
    endpointId = await h.api.create({ collection: 'serviceendpoints', data: { name: 'cosell-sync', url: receiver.url, contract: 8, authtype: 5, authvalue: 'secret', messageformat: 2 } });
  });
  afterAll(async () => {
    await receiver.close();
    await h.close();
  });

  describe('stakeholders (connection + connectionrole)', () => {
    it('creates a stakeholder with its reciprocal, both found by $filter on the lookup values', async () => {
      expect(decisionMakerRoleId).not.toBe('');
      const id: string = await h.api.create({
        collection: 'connections',
        data: {
          'record1id_opportunity@odata.bind': `/opportunities(${opportunityId})`,
          'record2id_contact@odata.bind': `/contacts(${contactIds[1]})`,
          'record2roleid@odata.bind': `/connectionroles(${decisionMakerRoleId})`,
        },
      });
      const [master] = await connectionsOf(opportunityId);
      expect(master).toMatchObject({ connectionid: id, ismaster: true, _record2id_value: contactIds[1], _record2roleid_value: decisionMakerRoleId, record1objecttypecode: 3, record2objecttypecode: 2 });
      const contact = await h.api.retrieve<{ fullname: string }>({ collection: 'contacts', key: contactIds[1] ?? '', select: ['fullname'] });
      expect(master?.name).toBe(contact.fullname);
      const reciprocal = await h.api.retrieve<Connection>({ collection: 'connections', key: master?._relatedconnectionid_value ?? '' });
      expect(reciprocal).toMatchObject({ ismaster: false, _record1id_value: contactIds[1], _record2id_value: opportunityId, _record1roleid_value: decisionMakerRoleId, _relatedconnectionid_value: id });

      const stakeholders = await h.api.retrieveMultiple<Connection>({
        collection: 'connections',
        filter: `_record1id_value eq ${opportunityId} and record2objecttypecode eq 2 and Microsoft.Dynamics.CRM.In(PropertyName='record2id',PropertyValues=['${contactIds[1]}','${contactIds[2]}'])`,
      });
      expect(stakeholders.value.map((row) => row.connectionid)).toEqual([id]);
    });

    it('refuses a connection without both ends, and mirrors a role change onto the reciprocal', async () => {
      const missing = await expectFailure(h.api.create({ collection: 'connections', data: { 'record1id_opportunity@odata.bind': `/opportunities(${opportunityId})` } }));
      expect(missing.status).toBe(400);
      const [master] = await connectionsOf(opportunityId);
      await h.api.update({ collection: 'connections', key: master?.connectionid ?? '', data: { 'record2roleid@odata.bind': `/connectionroles(${influencerRoleId})` } });
      const reciprocal = await h.api.retrieve<Connection>({ collection: 'connections', key: master?._relatedconnectionid_value ?? '' });
      expect(reciprocal._record1roleid_value).toBe(influencerRoleId);
    });

    it('deletes the pair together, and a deleted contact takes its connections with it', async () => {
      const [master] = await connectionsOf(opportunityId);
      await h.api.deleteRecord({ collection: 'connections', key: master?.connectionid ?? '' });
      expect(await connectionsOf(opportunityId)).toEqual([]);
      expect(await connectionsOf(contactIds[1] ?? '')).toEqual([]);

      await h.api.create({ collection: 'connections', data: { 'record1id_opportunity@odata.bind': `/opportunities(${opportunityId})`, 'record2id_contact@odata.bind': `/contacts(${contactIds[2]})` } });
      await h.api.deleteRecord({ collection: 'contacts', key: contactIds[2] ?? '' });
      expect(await connectionsOf(opportunityId)).toEqual([]);
    });

    it("keeps the primary contact in the opportunity's parentcontactid lookup, filterable by its value", async () => {
      const rows = await h.api.retrieveMultiple<{ opportunityid: string }>({ collection: 'opportunities', select: ['opportunityid'], filter: `_parentcontactid_value eq ${contactIds[0]}` });
      expect(rows.value.map((row) => row.opportunityid)).toEqual([opportunityId]);
      await h.api.update({ collection: 'opportunities', key: opportunityId, data: { 'parentcontactid@odata.bind': `/contacts(${contactIds[1]})` } });
      const row = await h.api.retrieve<{ _parentcontactid_value: string }>({ collection: 'opportunities', key: opportunityId, select: ['_parentcontactid_value'] });
      expect(row._parentcontactid_value).toBe(contactIds[1]);
    });

    it('sends Create webhooks for a connection and its reciprocal to a step registered on connection', async () => {
      await registerStep('Create', 'connection', endpointId);
      const id: string = await h.api.create({ collection: 'connections', data: { 'record1id_opportunity@odata.bind': `/opportunities(${opportunityId})`, 'record2id_contact@odata.bind': `/contacts(${contactIds[0]})` } });
      await waitFor(() => receiver.received.length >= 2, 5_000, 'two connection webhooks');
      const contexts = receiver.received.map((delivery) => delivery.json as unknown as ExecutionContext);
      expect(contexts.map((context) => [context.MessageName, context.PrimaryEntityName])).toEqual([
        ['Create', 'connection'],
        ['Create', 'connection'],
      ]);
      expect(contexts.map((context) => context.PrimaryEntityId)).toContain(id);
    });
  });

  describe('users, owner and access team', () => {
    it('finds systemusers by internalemailaddress with eq and Microsoft.Dynamics.CRM.In', async () => {
      const seller = SANDBOX_USERS.seller;
      const one = await h.api.retrieveMultiple<{ systemuserid: string }>({ collection: 'systemusers', select: ['systemuserid'], filter: `internalemailaddress eq '${seller.domainname}'` });
      expect(one.value.map((row) => row.systemuserid)).toEqual([seller.id]);
      const both = await h.api.retrieveMultiple<{ systemuserid: string }>({
        collection: 'systemusers',
        select: ['systemuserid'],
        filter: `Microsoft.Dynamics.CRM.In(PropertyName='internalemailaddress',PropertyValues=['${seller.domainname}','${SANDBOX_USERS.secondSeller.domainname}','nobody@example.com'])`,
      });
      expect(both.value.map((row) => row.systemuserid).sort()).toEqual([seller.id, SANDBOX_USERS.secondSeller.id].sort());
    });

    it('assigns the owner with ownerid@odata.bind on PATCH, an Update that a step filtering on ownerid hears', async () => {
      await registerStep('Update', 'opportunity', endpointId, 'ownerid');
      const before = receiver.received.length;
      await h.api.update({ collection: 'opportunities', key: opportunityId, data: { description: 'not an owner change' } });
      await h.api.update({ collection: 'opportunities', key: opportunityId, data: { 'ownerid@odata.bind': `/systemusers(${SANDBOX_USERS.secondSeller.id})` } });
      const row = await h.api.retrieve<{ _ownerid_value: string }>({ collection: 'opportunities', key: opportunityId, select: ['_ownerid_value'] });
      expect(row._ownerid_value).toBe(SANDBOX_USERS.secondSeller.id);
      await waitFor(() => receiver.received.length > before, 5_000, 'the Update webhook');
      const heard = receiver.received.slice(before).map((delivery) => delivery.json as unknown as ExecutionContext);
      expect(heard.map((context) => [context.MessageName, context.PrimaryEntityName, context.PrimaryEntityId])).toEqual([['Update', 'opportunity', opportunityId]]);
      const notAUser = await expectFailure(h.api.update({ collection: 'opportunities', key: opportunityId, data: { 'ownerid@odata.bind': '/systemusers(00000000-0000-0000-0000-0000000000aa)' } }));
      expect(notAUser.status).toBe(404);
    });

    it("adds and removes users on the record's access team (AddUserToRecordTeam / RemoveUserFromRecordTeam), read back through the team's members", async () => {
      expect(templateId).not.toBe('');
      const action = { Record: { '@odata.type': 'Microsoft.Dynamics.CRM.opportunity', opportunityid: opportunityId }, TeamTemplate: { ...TEAM_TEMPLATE, teamtemplateid: templateId } };
      const added = await h.api.callAction<{ AccessTeamId: string }>({ actionName: 'Microsoft.Dynamics.CRM.AddUserToRecordTeam', collection: 'systemusers', key: SANDBOX_USERS.seller.id, action });
      const again = await h.api.callAction<{ AccessTeamId: string }>({ actionName: 'Microsoft.Dynamics.CRM.AddUserToRecordTeam', collection: 'systemusers', key: SANDBOX_USERS.seller.id, action });
      await h.api.callAction({ actionName: 'Microsoft.Dynamics.CRM.AddUserToRecordTeam', collection: 'systemusers', key: SANDBOX_USERS.secondSeller.id, action });
      expect(again.AccessTeamId).toBe(added.AccessTeamId);

      const teams = await h.api.retrieveMultiple<{ teamid: string; teamtype: number; _teamtemplateid_value: string }>({ collection: 'teams', filter: `_regardingobjectid_value eq ${opportunityId} and teamtype eq 1` });
      expect(teams.value).toEqual([expect.objectContaining({ teamid: added.AccessTeamId, teamtype: 1, _teamtemplateid_value: templateId })]);
      const members = async (): Promise<string[]> =>
        (await h.api.retrieve<{ value: Array<{ internalemailaddress: string }> }>({ collection: 'teams', key: added.AccessTeamId, navigationProperty: 'teammembership_association', select: ['internalemailaddress'] })).value
          .map((row) => row.internalemailaddress)
          .sort();
      expect(await members()).toEqual([SANDBOX_USERS.seller.domainname, SANDBOX_USERS.secondSeller.domainname].sort());

      const removed = await h.api.callAction<{ AccessTeamId: string }>({ actionName: 'Microsoft.Dynamics.CRM.RemoveUserFromRecordTeam', collection: 'systemusers', key: SANDBOX_USERS.seller.id, action });
      expect(removed.AccessTeamId).toBe(added.AccessTeamId);
      expect(await members()).toEqual([SANDBOX_USERS.secondSeller.domainname]);
    });

    it('refuses a team template of another table, an unknown template and an unknown record', async () => {
      const accountTemplate: string = await h.api.create({ collection: 'teamtemplates', data: { teamtemplatename: 'Account team', objecttypecode: 1, defaultaccessrightsmask: 1 } });
      const call = (record: Record<string, unknown>, teamtemplateid: string) =>
        h.api.callAction({ actionName: 'Microsoft.Dynamics.CRM.AddUserToRecordTeam', collection: 'systemusers', key: SANDBOX_USERS.seller.id, action: { Record: record, TeamTemplate: { ...TEAM_TEMPLATE, teamtemplateid } } });
      const opportunityRecord = { '@odata.type': 'Microsoft.Dynamics.CRM.opportunity', opportunityid: opportunityId };
      expect((await expectFailure(call(opportunityRecord, accountTemplate))).status).toBe(400);
      expect((await expectFailure(call(opportunityRecord, '00000000-0000-0000-0000-0000000000bb'))).status).toBe(404);
      expect((await expectFailure(call({ '@odata.type': 'Microsoft.Dynamics.CRM.opportunity', opportunityid: '00000000-0000-0000-0000-0000000000cc' }, templateId))).status).toBe(404);
      const teamless: string = await h.api.create({ collection: 'opportunities', data: { name: 'No team yet' } });
      const removal = await expectFailure(
        h.api.callAction({
          actionName: 'Microsoft.Dynamics.CRM.RemoveUserFromRecordTeam',
          collection: 'systemusers',
          key: SANDBOX_USERS.seller.id,
          action: { Record: { '@odata.type': 'Microsoft.Dynamics.CRM.opportunity', opportunityid: teamless }, TeamTemplate: { ...TEAM_TEMPLATE, teamtemplateid: templateId } },
        }),
      );
      expect(removal.status).toBe(404);
    });
  });
});
