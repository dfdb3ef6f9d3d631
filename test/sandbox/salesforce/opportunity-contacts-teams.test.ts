import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_USERS } from '../../../src/sandbox/salesforce/index.ts';
import { API_VERSION, expectJsforceError, opportunity, startHarness, waitFor, type SalesforceHarness } from './helpers.ts';

interface RetainedEvent {
  replayId: number;
  entityName: string;
  data: { payload: { ChangeEventHeader: { changeType: string; recordIds: string[]; changedFields: string[] } } & Record<string, unknown> };
}

const base = `/services/data/v${API_VERSION}`;

describe('OpportunityContactRole, OpportunityTeamMember and User rows, through jsforce', () => {
  let h: SalesforceHarness;
  let opportunityId = '';
  let contactIds: string[] = [];

  const seedUsers = async (users: Array<Record<string, unknown>>): Promise<string[]> => {
    const response = await h.control<{ created: Array<{ Id: string }> }>('POST', '/_sandbox/users', { users });
    expect(response.status).toBe(201);
    return response.body.created.map((user) => user.Id);
  };

  beforeAll(async () => {
    h = await startHarness();
    const seeded = await h.control<{ created: { contacts: string[] } }>('POST', '/_sandbox/seed', { accounts: 1, contacts: 3 });
    contactIds = seeded.body.created.contacts;
    opportunityId = (await h.conn.sobject('Opportunity').create(opportunity())).id ?? '';
  });
  afterAll(async () => h.close());

  describe('OpportunityContactRole', () => {
    it('requires OpportunityId and ContactId, refuses to move a role to another opportunity, and keeps Role an open picklist', async () => {
      const missing = await expectJsforceError(h.conn.sobject('OpportunityContactRole').create({ OpportunityId: opportunityId }));
      expect(missing.errorCode).toBe('REQUIRED_FIELD_MISSING');
      expect(missing.message).toContain('ContactId');
      const noOpportunity = await expectJsforceError(h.conn.sobject('OpportunityContactRole').create({ ContactId: contactIds[0] }));
      expect(noOpportunity.errorCode).toBe('REQUIRED_FIELD_MISSING');

      const created = await h.conn.sobject('OpportunityContactRole').create({ OpportunityId: opportunityId, ContactId: contactIds[0], Role: 'Co-sell sponsor' });
      expect(created.success).toBe(true);
      expect(created.id?.startsWith('00K')).toBe(true);
      const other = (await h.conn.sobject('Opportunity').create(opportunity({ Name: 'Other deal' }))).id ?? '';
      const moved = await expectJsforceError(h.conn.sobject('OpportunityContactRole').update({ Id: created.id ?? '', OpportunityId: other }));
      expect(moved.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
      const row = await h.conn.sobject('OpportunityContactRole').retrieve(created.id ?? '');
      expect(row).toMatchObject({ OpportunityId: opportunityId, ContactId: contactIds[0], Role: 'Co-sell sponsor', IsPrimary: false });
      await h.conn.sobject('OpportunityContactRole').destroy(created.id ?? '');
    });

    it('keeps one primary contact per opportunity: a new primary demotes the previous one, each change raising its own change event', async () => {
      const [first, second] = [contactIds[0] ?? '', contactIds[1] ?? ''];
      const a = (await h.conn.sobject('OpportunityContactRole').create({ OpportunityId: opportunityId, ContactId: first, Role: 'Decision Maker', IsPrimary: true })).id ?? '';
      const before = (await h.control<{ latestReplayId: number }>('GET', '/_sandbox/cdc/events')).body.latestReplayId;
      const b = (await h.conn.sobject('OpportunityContactRole').create({ OpportunityId: opportunityId, ContactId: second, Role: 'Technical Buyer', IsPrimary: true })).id ?? '';
      const rows = await h.conn.query<{ Id: string; IsPrimary: boolean }>(`SELECT Id, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '${opportunityId}' ORDER BY CreatedDate`);
      expect(Object.fromEntries(rows.records.map((row) => [row.Id, row.IsPrimary]))).toEqual({ [a]: false, [b]: true });

      const events = (await h.control<{ value: RetainedEvent[] }>('GET', '/_sandbox/cdc/events')).body.value.filter((event) => event.replayId > before);
      expect(events.map((event) => [event.entityName, event.data.payload.ChangeEventHeader.changeType, event.data.payload.ChangeEventHeader.recordIds[0]])).toEqual([
        ['OpportunityContactRole', 'CREATE', b],
        ['OpportunityContactRole', 'UPDATE', a],
      ]);
      expect(events[1]?.data.payload.ChangeEventHeader.changedFields).toContain('IsPrimary');
      expect(events[1]?.data.payload.IsPrimary).toBe(false);

      // A second role for the same contact is allowed (Object Reference: possible, though not recommended).
      const again = await h.conn.sobject('OpportunityContactRole').create({ OpportunityId: opportunityId, ContactId: second, Role: 'Influencer' });
      expect(again.success).toBe(true);
      await h.conn.sobject('OpportunityContactRole').destroy(again.id ?? '');
    });

    it('delivers OpportunityContactRole change events on /data/OpportunityContactRoleChangeEvent through jsforce streaming', async () => {
      const received: RetainedEvent['data'][] = [];
      const subscription = h.conn.streaming.channel('/data/OpportunityContactRoleChangeEvent').subscribe((message: RetainedEvent['data']) => received.push(message));
      await subscription;
      const role = (await h.conn.sobject('OpportunityContactRole').create({ OpportunityId: opportunityId, ContactId: contactIds[2], Role: 'Evaluator' })).id ?? '';
      await h.conn.sobject('OpportunityContactRole').update({ Id: role, Role: 'Economic Buyer' });
      await h.conn.sobject('OpportunityContactRole').destroy(role);
      await waitFor(() => received.length >= 3, 5_000, 'three change events');
      expect(received.map((message) => message.payload.ChangeEventHeader.changeType)).toEqual(['CREATE', 'UPDATE', 'DELETE']);
      expect(received[1]?.payload).toMatchObject({ Role: 'Economic Buyer' });
      subscription.cancel();
      for (const client of Object.values(h.conn.streaming._fayeClients)) (client as unknown as { disconnect(): void }).disconnect();
      h.conn.streaming._fayeClients = {};
    });

    it('answers SOQL with WHERE OpportunityId IN (…) and parent paths, and is written by sObject Collections', async () => {
      const other = (await h.conn.sobject('Opportunity').create(opportunity({ Name: 'Third deal' }))).id ?? '';
      const collection = await h.http<Array<{ id: string; success: boolean }>>('POST', `${base}/composite/sobjects`, {
        allOrNone: true,
        records: [
          { attributes: { type: 'OpportunityContactRole' }, OpportunityId: other, ContactId: contactIds[0], Role: 'Business User', IsPrimary: true },
          { attributes: { type: 'OpportunityContactRole' }, OpportunityId: other, ContactId: contactIds[1], Role: 'Other' },
        ],
      });
      expect(collection.status).toBe(200);
      expect(collection.body.every((result) => result.success)).toBe(true);
      const result = await h.conn.query<{ OpportunityId: string; Role: string; Contact: { Email: string } }>(
        `SELECT OpportunityId, Role, Contact.Email FROM OpportunityContactRole WHERE OpportunityId IN ('${opportunityId}', '${other}') ORDER BY Role`,
      );
      expect(result.records.filter((row) => row.OpportunityId === other).map((row) => row.Role)).toEqual(['Business User', 'Other']);
      expect(result.records.every((row) => typeof row.Contact.Email === 'string')).toBe(true);
      const deleted = await h.http<Array<{ success: boolean }>>('DELETE', `${base}/composite/sobjects?ids=${collection.body.map((row) => row.id).join(',')}`);
      expect(deleted.body.every((row) => row.success)).toBe(true);
    });

    it('goes with its opportunity, but outlives its contact (ContactId may name a deleted contact)', async () => {
      const deal = (await h.conn.sobject('Opportunity').create(opportunity({ Name: 'Doomed deal' }))).id ?? '';
      const person = (await h.conn.sobject('Contact').create({ LastName: 'Doomed' })).id ?? '';
      const viaDeal = (await h.conn.sobject('OpportunityContactRole').create({ OpportunityId: deal, ContactId: contactIds[0] })).id ?? '';
      const viaPerson = (await h.conn.sobject('OpportunityContactRole').create({ OpportunityId: opportunityId, ContactId: person })).id ?? '';
      await h.conn.sobject('Opportunity').destroy(deal);
      await h.conn.sobject('Contact').destroy(person);
      const left = await h.conn.query<{ Id: string; ContactId: string }>(`SELECT Id, ContactId FROM OpportunityContactRole WHERE Id IN ('${viaDeal}', '${viaPerson}')`);
      expect(left.records.map(({ Id, ContactId }) => ({ Id, ContactId }))).toEqual([{ Id: viaPerson, ContactId: person }]);
      await h.conn.sobject('OpportunityContactRole').destroy(viaPerson);
    });
  });

  describe('User', () => {
    it('serves seeded users with Email, IsActive and Name to SOQL Email IN (…), and refuses a duplicate Username', async () => {
      const [ana, bo] = await seedUsers([
        { firstName: 'Ana', lastName: 'Partner', email: 'ana@partner.example' },
        { firstName: 'Bo', lastName: 'Gone', email: 'bo@partner.example', isActive: false },
      ]);
      const users = await h.conn.query<{ Id: string; Name: string; Email: string; IsActive: boolean }>(
        "SELECT Id, Name, Email, IsActive FROM User WHERE Email IN ('ANA@partner.example', 'bo@partner.example', 'nobody@partner.example') ORDER BY Email",
      );
      expect(users.records.map(({ Id, Name, Email, IsActive }) => ({ Id, Name, Email, IsActive }))).toEqual([
        { Id: ana, Name: 'Ana Partner', Email: 'ana@partner.example', IsActive: true },
        { Id: bo, Name: 'Bo Gone', Email: 'bo@partner.example', IsActive: false },
      ]);
      const duplicate = await h.control<Array<{ errorCode: string }>>('POST', '/_sandbox/users', { users: [{ lastName: 'Again', email: 'ana@partner.example' }] });
      expect(duplicate.status).toBe(400);
      expect(duplicate.body[0]?.errorCode).toBe('DUPLICATE_VALUE');
      const readOnly = await expectJsforceError(h.conn.sobject('User').update({ Id: ana ?? '', IsActive: false }));
      expect(readOnly.errorCode).toBe('INVALID_TYPE_FOR_OPERATION');
      const deactivated = await h.control<{ IsActive: boolean }>('PATCH', `/_sandbox/users/${bo}`, { isActive: true });
      expect(deactivated.body.IsActive).toBe(true);
    });
  });

  describe('OpportunityTeamMember', () => {
    it('requires OpportunityId and UserId, copies the user name, restricts OpportunityAccessLevel, and merges a second create for the same user', async () => {
      const [carla] = await seedUsers([{ firstName: 'Carla', lastName: 'Teammate', email: 'carla@partner.example' }]);
      const missing = await expectJsforceError(h.conn.sobject('OpportunityTeamMember').create({ OpportunityId: opportunityId }));
      expect(missing.errorCode).toBe('REQUIRED_FIELD_MISSING');
      const badLevel = await expectJsforceError(h.conn.sobject('OpportunityTeamMember').create({ OpportunityId: opportunityId, UserId: carla, OpportunityAccessLevel: 'Owner' }));
      expect(badLevel.errorCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
      const notAUser = await expectJsforceError(h.conn.sobject('OpportunityTeamMember').create({ OpportunityId: opportunityId, UserId: '005000000000000AAA' }));
      expect(notAUser.errorCode).toBe('INVALID_CROSS_REFERENCE_KEY');

      const first = await h.conn.sobject('OpportunityTeamMember').create({ OpportunityId: opportunityId, UserId: carla, TeamMemberRole: 'Sales Rep' });
      expect(first.id?.startsWith('00q')).toBe(true);
      const row = await h.conn.sobject('OpportunityTeamMember').retrieve(first.id ?? '');
      expect(row).toMatchObject({ Name: 'Carla Teammate', TeamMemberRole: 'Sales Rep', OpportunityAccessLevel: 'Read', UserId: carla });

      // Object Reference "OpportunityTeamMember": a create matching OpportunityId + UserId updates the existing row.
      const second = await h.conn.sobject('OpportunityTeamMember').create({ OpportunityId: opportunityId, UserId: carla, TeamMemberRole: 'Pre-Sales Consultant', OpportunityAccessLevel: 'Edit' });
      expect(second).toMatchObject({ id: first.id, success: true });
      const team = await h.conn.query<{ Id: string; TeamMemberRole: string; OpportunityAccessLevel: string; User: { Email: string } }>(
        `SELECT Id, TeamMemberRole, OpportunityAccessLevel, User.Email FROM OpportunityTeamMember WHERE OpportunityId IN ('${opportunityId}')`,
      );
      expect(team.records.map(({ Id, TeamMemberRole, OpportunityAccessLevel, User }) => ({ Id, TeamMemberRole, OpportunityAccessLevel, email: User.Email }))).toEqual([
        { Id: first.id, TeamMemberRole: 'Pre-Sales Consultant', OpportunityAccessLevel: 'Edit', email: 'carla@partner.example' },
      ]);
      const moved = await expectJsforceError(h.conn.sobject('OpportunityTeamMember').update({ Id: first.id ?? '', UserId: SANDBOX_USERS.seller.id }));
      expect(moved.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
      await h.conn.sobject('OpportunityTeamMember').destroy(first.id ?? '');
      expect((await h.conn.query(`SELECT Id FROM OpportunityTeamMember WHERE OpportunityId = '${opportunityId}'`)).totalSize).toBe(0);
    });

    it('deletes a member past the recycle bin (getDeleted sees it, queryAll and undelete do not) unless its opportunity took it', async () => {
      const [dana] = await seedUsers([{ firstName: 'Dana', lastName: 'Direct', email: 'dana@partner.example' }]);
      const deal = (await h.conn.sobject('Opportunity').create(opportunity({ Name: 'Team deal' }))).id ?? '';
      const direct = (await h.conn.sobject('OpportunityTeamMember').create({ OpportunityId: opportunityId, UserId: dana })).id ?? '';
      const cascaded = (await h.conn.sobject('OpportunityTeamMember').create({ OpportunityId: deal, UserId: dana })).id ?? '';
      await h.conn.sobject('OpportunityTeamMember').destroy(direct);
      await h.conn.sobject('Opportunity').destroy(deal);

      const recycleBin = await h.conn.query<{ Id: string }>(`SELECT Id FROM OpportunityTeamMember WHERE UserId = '${dana}'`, { scanAll: true });
      expect(recycleBin.records.map((row) => row.Id)).toEqual([cascaded]);
      const start = new Date(Date.now() - 60_000).toISOString();
      const end = new Date(Date.now() + 60_000).toISOString();
      const deleted = await h.conn.sobject('OpportunityTeamMember').deleted(start, end);
      expect(deleted.deletedRecords.map((row) => row.id)).toEqual(expect.arrayContaining([direct, cascaded]));
      const undelete = await h.control<Array<{ errorCode: string }>>('POST', `/_sandbox/records/OpportunityTeamMember/${direct}/undelete`);
      expect(undelete.status).toBe(400);
    });

    it('raises no change events (OpportunityTeamMember is not a Change Data Capture object) and has no channel', async () => {
      const before = (await h.control<{ latestReplayId: number }>('GET', '/_sandbox/cdc/events')).body.latestReplayId;
      await h.control('POST', '/_sandbox/records/OpportunityTeamMember', { OpportunityId: opportunityId, UserId: SANDBOX_USERS.integration.id, TeamMemberRole: 'Sales Manager' });
      expect((await h.control<{ latestReplayId: number }>('GET', '/_sandbox/cdc/events')).body.latestReplayId).toBe(before);
      const gap = await h.control('POST', '/_sandbox/cdc/gap', { entity: 'OpportunityTeamMember' });
      expect(gap.status).toBe(400);
    });
  });
});

describe('an org without Opportunity Teams', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness({ opportunityTeams: false });
  });
  afterAll(async () => h.close());

  it('has no OpportunityTeamMember object: REST answers NOT_FOUND and SOQL INVALID_TYPE', async () => {
    const rest = await h.http<Array<{ errorCode: string }>>('POST', `${base}/sobjects/OpportunityTeamMember`, { OpportunityId: '006000000000000AAA', UserId: SANDBOX_USERS.seller.id });
    expect(rest.status).toBe(404);
    expect(rest.body[0]?.errorCode).toBe('NOT_FOUND');
    expect((await expectJsforceError(h.conn.query('SELECT Id FROM OpportunityTeamMember'))).errorCode).toBe('INVALID_TYPE');
    const describe = await h.conn.describeGlobal();
    expect(describe.sobjects.map((sobject) => sobject.name)).toContain('OpportunityContactRole');
    expect(describe.sobjects.map((sobject) => sobject.name)).not.toContain('OpportunityTeamMember');
  });
});
