import { describe, expect, it } from 'vitest';
import { dataverseNotificationDecoder } from '../../../../src/crm/dynamics/notifications.ts';
import { changedColumns, webhookActor } from '../../../../src/crm/dynamics/webhook.ts';
import { dealPeopleOf } from '../../../../src/crm/deal-contacts.ts';

/*
 * Notifications about an opportunity's people (stakeholder connections, access-team members, assignment) are filed
 * under the opportunity with an event name saying which people changed; a connection between two other rows asks for
 * nothing. Bodies in the WCF form of "Use webhooks to create external handlers for server events".
 */

const OPPORTUNITY = '0f8fad5b-d9cb-469f-a165-70867728950e';
const CONTACT = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const ACCOUNT = '16fd2706-8baf-433b-82eb-8c7fada847da';
const SELLER = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const SECRET = 'people-webhook-secret';

const reference = (logicalName: string, id: string) => ({ __type: 'EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts', Id: id, KeyAttributes: [], LogicalName: logicalName, Name: null, RowVersion: null });

function context(message: string, primary: { name: string; id: string }, inputs: Array<{ key: string; value: unknown }>): Buffer {
  return Buffer.from(
    JSON.stringify({
      CorrelationId: 'b374239d-4233-41a9-8b17-a86cb4f737b5',
      Depth: 1,
      InitiatingUserId: SELLER,
      InputParameters: inputs,
      MessageName: message,
      OperationId: '4af10637-4ea2-e711-8122-000d3aa2331c',
      OwningExtension: { Id: '75417616-4ea2-e711-8122-000d3aa2331c', LogicalName: 'sdkmessageprocessingstep' },
      PrimaryEntityId: primary.id,
      PrimaryEntityName: primary.name,
      UserId: SELLER,
    }),
  );
}

function connectionCreate(record1: { name: string; id: string }, record2: { name: string; id: string }): Buffer {
  const id = '9b2d7a4e-1c3f-4a5b-8d6e-7f8091a2b3c4';
  const target = {
    __type: 'Entity:http://schemas.microsoft.com/xrm/2011/Contracts',
    Attributes: [
      { key: 'connectionid', value: id },
      { key: 'record1id', value: reference(record1.name, record1.id) },
      { key: 'record2id', value: reference(record2.name, record2.id) },
      { key: 'name', value: 'Stakeholder' },
    ],
    Id: id,
    LogicalName: 'connection',
  };
  return context('Create', { name: 'connection', id }, [{ key: 'Target', value: target }]);
}

const decode = (body: Buffer) => {
  const decoded = dataverseNotificationDecoder('dynamics', { kind: 'HttpHeader', headerName: 'x-key', secret: SECRET }).decode({ headers: { 'x-key': SECRET }, query: {}, params: {}, body });
  if (!decoded.ok) throw new Error(`rejected: ${decoded.message}`);
  return decoded;
};

describe('Dataverse notifications about an opportunity\'s people', () => {
  it('a stakeholder connection (either end, as the platform also creates the reciprocal row) is a change of the contacts, filed under the opportunity', () => {
    for (const body of [connectionCreate({ name: 'opportunity', id: OPPORTUNITY }, { name: 'contact', id: CONTACT }), connectionCreate({ name: 'contact', id: CONTACT }, { name: 'opportunity', id: OPPORTUNITY })]) {
      const decoded = decode(body);
      expect(decoded.records).toEqual([{ entity: 'opportunity', id: OPPORTUNITY }]);
      expect(decoded.resourceId).toBe(OPPORTUNITY);
      expect(dealPeopleOf(decoded.eventName)).toBe('contacts');
      expect(decoded.actor).toEqual({ initiatingUserId: SELLER, depth: 1 });
      // Its columns are the connection's, never dated as the opportunity's.
      expect(changedColumns(body.toString('utf8'))).toBeNull();
    }
  });

  it('a connection between two other rows is accepted and asks for nothing', () => {
    const decoded = decode(connectionCreate({ name: 'account', id: ACCOUNT }, { name: 'contact', id: CONTACT }));
    expect(decoded.records).toEqual([]);
    expect(decoded.resourceId).toBeNull();
  });

  it('AddUserToRecordTeam / RemoveUserFromRecordTeam name the opportunity in Record: a change of the team', () => {
    for (const message of ['AddUserToRecordTeam', 'RemoveUserFromRecordTeam']) {
      const body = context(message, { name: 'systemuser', id: SELLER }, [
        { key: 'Record', value: reference('opportunity', OPPORTUNITY) },
        { key: 'SystemUserId', value: SELLER },
        { key: 'TeamTemplateId', value: ACCOUNT },
      ]);
      const decoded = decode(body);
      expect(decoded.records).toEqual([{ entity: 'opportunity', id: OPPORTUNITY }]);
      expect(dealPeopleOf(decoded.eventName)).toBe('team');
    }
  });

  it('an Assign of the opportunity is a change of the team; an ordinary Update is no people notification', () => {
    const assign = decode(context('Assign', { name: 'opportunity', id: OPPORTUNITY }, [{ key: 'Target', value: reference('opportunity', OPPORTUNITY) }, { key: 'Assignee', value: reference('systemuser', SELLER) }]));
    expect(assign.records).toEqual([{ entity: 'opportunity', id: OPPORTUNITY }]);
    expect(dealPeopleOf(assign.eventName)).toBe('team');
    const update = decode(context('Update', { name: 'opportunity', id: OPPORTUNITY }, [{ key: 'Target', value: { Attributes: [{ key: 'ownerid', value: reference('systemuser', SELLER) }], Id: OPPORTUNITY, LogicalName: 'opportunity' } }]));
    expect(dealPeopleOf(update.eventName)).toBeUndefined();
    expect(changedColumns(JSON.stringify({ InputParameters: [{ key: 'Target', value: { Attributes: [{ key: 'ownerid', value: null }], LogicalName: 'opportunity' } }] }))?.columns).toEqual(['ownerid']);
  });

  it('reads who made a stored change back from its body', () => {
    expect(webhookActor(connectionCreate({ name: 'opportunity', id: OPPORTUNITY }, { name: 'contact', id: CONTACT }).toString('utf8'))).toEqual({ initiatingUserId: SELLER, depth: 1 });
    expect(webhookActor('not json')).toBeUndefined();
  });
});
