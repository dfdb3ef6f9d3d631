import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_USERS } from '../../../src/sandbox/dataverse/index.ts';
import { expectFailure, startHarness, type SandboxHarness } from './helpers.ts';

interface Opportunity {
  opportunityid: string;
  name: string;
  estimatedvalue: number | null;
  '@odata.etag': string;
  statecode: number;
  statuscode: number;
  _customerid_value: string | null;
  _modifiedby_value: string;
  versionnumber: number;
}

let h: SandboxHarness;
let accountId: string;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());
beforeEach(async () => {
  await h.control('DELETE', '/_sandbox/data');
  accountId = await h.api.create({ collection: 'accounts', data: { name: 'Contoso', address1_postalcode: '98052' } });
});

describe('the control API list', () => {
  it('renders only the asked columns, unannotated, with ?select=', async () => {
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'Listed', estimatedvalue: 10, 'customerid_account@odata.bind': `/accounts(${accountId})` } });
    const listed = await h.control<{ value: Array<Record<string, unknown>> }>('GET', '/_sandbox/records/opportunities?select=opportunityid,name');
    expect(listed.body.value.find((row) => row.opportunityid === id)).toEqual({ '@odata.etag': expect.any(String), opportunityid: id, name: 'Listed' });
    const whole = await h.control<{ value: Array<Record<string, unknown>> }>('GET', '/_sandbox/records/opportunities');
    expect(whole.body.value.find((row) => row.opportunityid === id)).toMatchObject({ estimatedvalue: 10, '_customerid_value@OData.Community.Display.V1.FormattedValue': 'Contoso' });
  });
});

describe('create and retrieve', () => {
  it('creates with 204 + OData-EntityId (the client returns the id) and reads the row back with its ETag', async () => {
    const id: string = await h.api.create({
      collection: 'opportunities',
      data: { name: 'Azure migration', estimatedvalue: 125000, estimatedclosedate: '2026-12-31', 'customerid_account@odata.bind': `/accounts(${accountId})` },
    });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const row = await h.api.retrieve<Opportunity & { estimatedclosedate: string }>({ collection: 'opportunities', key: id });
    expect(row.name).toBe('Azure migration');
    expect(row.estimatedvalue).toBe(125000);
    expect(row.estimatedclosedate).toBe('2026-12-31');
    expect(row._customerid_value).toBe(accountId);
    expect(row.statecode).toBe(0);
    expect(row.statuscode).toBe(1);
    expect(row['@odata.etag']).toBe(`W/"${row.versionnumber}"`);
    // Web API writes act as the application user: what the product compares webhook UserIds against.
    expect(row._modifiedby_value).toBe(SANDBOX_USERS.application.id);
  });

  it('returns 201 and the row with Prefer: return=representation', async () => {
    const row = await h.api.create<Record<string, unknown>, Opportunity>({ collection: 'opportunities', data: { name: 'Rep' }, returnRepresentation: true, select: ['name'] });
    expect(row.name).toBe('Rep');
    expect(Object.keys(row)).not.toContain('estimatedvalue');
    expect(row['@odata.etag']).toMatch(/^W\/"\d+"$/);
  });

  it('answers a missing row with 404 and the documented error body', async () => {
    const failure = await expectFailure(h.api.retrieve({ collection: 'opportunities', key: '00000000-0000-0000-0000-0000000000aa' }));
    expect(failure.status).toBe(404);
    expect(failure.code).toBe('0x80040217');
    expect(failure.message).toContain('Does Not Exist');
  });

  it('rejects a bind to a row that does not exist, an unknown column, a _x_value write and statecode on create', async () => {
    const missingTarget = await expectFailure(h.api.create({ collection: 'opportunities', data: { name: 'x', 'parentaccountid@odata.bind': '/accounts(00000000-0000-0000-0000-000000000001)' } }));
    expect(missingTarget.status).toBe(404);
    const unknown = await expectFailure(h.api.create({ collection: 'opportunities', data: { name: 'x', new_nothing: 1 } }));
    expect(unknown.status).toBe(400);
    expect(unknown.message).toContain("The property 'new_nothing' does not exist");
    const lookupValue = await expectFailure(h.api.create({ collection: 'opportunities', data: { name: 'x', _parentaccountid_value: accountId } }));
    expect(lookupValue.message).toContain('Use Navigation properties');
    const state = await expectFailure(h.api.create({ collection: 'opportunities', data: { name: 'x', statecode: 1 } }));
    expect(state.status).toBe(400);
    const tooLong = await expectFailure(h.api.create({ collection: 'accounts', data: { name: 'x'.repeat(161) } }));
    expect(tooLong.code).toBe('0x80044331');
    const badOption = await expectFailure(h.api.create({ collection: 'opportunities', data: { name: 'x', salesstage: 9 } }));
    expect(badOption.status).toBe(400);
    expect(badOption.message).toContain('outside the valid range');
  });
});

describe('update, upsert and optimistic concurrency', () => {
  it('updates with a matching ETag and answers a stale one with 412', async () => {
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'v1' } });
    const first = await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id, select: ['name'] });
    await h.api.update({ collection: 'opportunities', key: id, data: { name: 'v2' }, ifmatch: first['@odata.etag'] });
    const second = await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id, select: ['name'] });
    expect(second.name).toBe('v2');
    expect(second['@odata.etag']).not.toBe(first['@odata.etag']);
    const stale = await expectFailure(h.api.update({ collection: 'opportunities', key: id, data: { name: 'v3' }, ifmatch: first['@odata.etag'] }));
    expect(stale.status).toBe(412);
    expect(stale.code).toBe('0x80060882');
    expect(stale.message).toBe("The version of the existing record doesn't match the RowVersion property provided.");
    expect((await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id, select: ['name'] })).name).toBe('v2');
  });

  it('update (If-Match: *) never creates: 404 for a missing id', async () => {
    const failure = await expectFailure(h.api.update({ collection: 'opportunities', key: '11111111-1111-1111-1111-111111111111', data: { name: 'ghost' } }));
    expect(failure.status).toBe(404);
    const count = await h.api.count({ collection: 'opportunities' });
    expect(count).toBe(0);
  });

  it('upsert creates then updates the same id; If-None-Match: * blocks the update branch with 412', async () => {
    const id = '22222222-2222-2222-2222-222222222222';
    const created = await h.api.upsert<Record<string, unknown>, Opportunity>({ collection: 'opportunities', key: id, data: { name: 'made by upsert' }, returnRepresentation: true });
    expect(created.opportunityid).toBe(id);
    await h.api.upsert({ collection: 'opportunities', key: id, data: { name: 'updated by upsert' } });
    expect((await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id })).name).toBe('updated by upsert');
    const blocked = await expectFailure(h.api.upsert({ collection: 'opportunities', key: id, data: { name: 'nope' }, ifnonematch: '*' }));
    expect(blocked.status).toBe(412);
    expect((await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id })).name).toBe('updated by upsert');
  });

  it('answers a conditional GET with 304 when the ETag still matches', async () => {
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'cached' } });
    const row = await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id });
    const response = await fetch(`${h.sandbox.url}/api/data/v9.2/opportunities(${id})`, { headers: { authorization: 'Bearer t', 'if-none-match': row['@odata.etag'] } });
    expect(response.status).toBe(304);
    expect(response.headers.get('etag')).toBe(row['@odata.etag']);
  });

  it('sets and clears a single column and a lookup via $ref', async () => {
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'single', description: 'd' } });
    await h.api.updateSingleProperty({ collection: 'opportunities', key: id, fieldValuePair: { name: 'renamed' } });
    await h.api.associateSingleValued({ collection: 'opportunities', primaryKey: id, navigationProperty: 'parentaccountid', relatedCollection: 'accounts', relatedKey: accountId });
    let row = await h.api.retrieve<Opportunity & { _parentaccountid_value: string | null }>({ collection: 'opportunities', key: id });
    expect(row.name).toBe('renamed');
    expect(row._parentaccountid_value).toBe(accountId);
    await h.api.disassociateSingleValued({ collection: 'opportunities', primaryKey: id, navigationProperty: 'parentaccountid' });
    row = await h.api.retrieve({ collection: 'opportunities', key: id });
    expect(row._parentaccountid_value).toBeNull();
  });
});

describe('delete', () => {
  it('deletes with a matching ETag, refuses a stale one and answers 404 afterwards', async () => {
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'to delete' } });
    const stale = await expectFailure(h.api.deleteRecord({ collection: 'opportunities', key: id, ifmatch: 'W/"1"' }));
    expect(stale.status).toBe(412);
    const row = await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id });
    await h.api.deleteRecord({ collection: 'opportunities', key: id, ifmatch: row['@odata.etag'] });
    const gone = await expectFailure(h.api.deleteRecord({ collection: 'opportunities', key: id }));
    expect(gone.status).toBe(404);
  });
});
