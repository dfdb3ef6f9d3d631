import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectFailure, startHarness, waitFor, WebhookReceiver, type SandboxHarness } from './helpers.ts';

interface Lead {
  leadid: string;
  statecode: number;
  statuscode: number;
  _parentaccountid_value: string | null;
  _parentcontactid_value: string | null;
}
interface Opportunity {
  opportunityid: string;
  name: string;
  estimatedvalue: number | null;
  _originatingleadid_value: string | null;
  _customerid_value: string | null;
  _parentaccountid_value: string | null;
  _parentcontactid_value: string | null;
}
interface QualifyResult {
  value: Array<Record<string, string>>;
}

let h: SandboxHarness;
let receiver: WebhookReceiver;

async function createLead(data: Record<string, unknown> = {}): Promise<string> {
  return h.api.create({
    collection: 'leads',
    data: { subject: 'Contoso - Azure migration', firstname: 'Ana', lastname: 'Lopez', companyname: 'Contoso', emailaddress1: 'ana@contoso.example', estimatedamount: 125000, ...data },
  });
}

/** What a seller's client sends: the bound action with the documented parameters ("QualifyLead Action"). */
async function qualify(leadId: string, body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${h.sandbox.url}/api/data/v9.2/leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-token', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

const FULL = { CreateAccount: true, CreateContact: true, CreateOpportunity: true, Status: 3 };

async function registerStep(message: 'Create' | 'Update', table: string, endpointId: string): Promise<void> {
  const messages = await h.api.retrieveMultiple<{ sdkmessageid: string }>({ collection: 'sdkmessages', select: ['sdkmessageid'], filter: `name eq '${message}'` });
  const messageId = messages.value[0]?.sdkmessageid ?? '';
  const filters = await h.api.retrieveMultiple<{ sdkmessagefilterid: string }>({
    collection: 'sdkmessagefilters',
    select: ['sdkmessagefilterid'],
    filter: `primaryobjecttypecode eq '${table}' and _sdkmessageid_value eq ${messageId}`,
  });
  await h.api.create({
    collection: 'sdkmessageprocessingsteps',
    data: {
      name: `test: ${message} of ${table}`,
      mode: 1,
      stage: 40,
      rank: 1,
      supporteddeployment: 0,
      'eventhandler_serviceendpoint@odata.bind': `/serviceendpoints(${endpointId})`,
      'sdkmessageid@odata.bind': `/sdkmessages(${messageId})`,
      'sdkmessagefilterid@odata.bind': `/sdkmessagefilters(${filters.value[0]?.sdkmessagefilterid ?? ''})`,
    },
  });
}

beforeAll(async () => {
  h = await startHarness({ webhookRetryDelayMs: 20 });
  receiver = await new WebhookReceiver().start();
});
afterAll(async () => {
  await h.close();
  await receiver.close();
});
beforeEach(async () => {
  await h.control('DELETE', '/_sandbox/data');
  receiver.received.length = 0;
});

describe('QualifyLead (bound action on lead)', () => {
  it('qualifies the lead, creates account, contact and opportunity linked to it, and returns their references', async () => {
    const leadId = await createLead();
    const result = await qualify(leadId, FULL);
    expect(result.status).toBe(200);
    const created = (result.body as QualifyResult).value;
    expect(created.map((row) => row['@odata.type'])).toEqual(['#Microsoft.Dynamics.CRM.account', '#Microsoft.Dynamics.CRM.contact', '#Microsoft.Dynamics.CRM.opportunity']);
    const [accountId, contactId, opportunityId] = [created[0]?.accountid, created[1]?.contactid, created[2]?.opportunityid];

    const lead = await h.api.retrieve<Lead>({ collection: 'leads', key: leadId, select: ['statecode', 'statuscode', '_parentaccountid_value', '_parentcontactid_value'] });
    expect([lead.statecode, lead.statuscode]).toEqual([1, 3]);
    expect([lead._parentaccountid_value, lead._parentcontactid_value]).toEqual([accountId, contactId]);

    const opportunity = await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: opportunityId ?? '' });
    expect(opportunity.name).toBe('Contoso - Azure migration');
    expect(opportunity.estimatedvalue).toBe(125000);
    expect(opportunity._originatingleadid_value).toBe(leadId);
    expect(opportunity._customerid_value).toBe(accountId);
    expect(opportunity._parentcontactid_value).toBe(contactId);
    const byLead = await h.api.retrieveMultiple<Opportunity>({ collection: 'opportunities', select: ['opportunityid'], filter: `_originatingleadid_value eq ${leadId}` });
    expect(byLead.value.map((row) => row.opportunityid)).toEqual([opportunityId]);

    const contact = await h.api.retrieve<{ emailaddress1: string; _parentcustomerid_value: string }>({ collection: 'contacts', key: contactId ?? '' });
    expect([contact.emailaddress1, contact._parentcustomerid_value]).toEqual(['ana@contoso.example', accountId]);
    const account = await h.api.retrieve<{ name: string }>({ collection: 'accounts', key: accountId ?? '' });
    expect(account.name).toBe('Contoso');
  });

  it('creates only what is asked for and uses the given customer for the opportunity', async () => {
    const customerId: string = await h.api.create({ collection: 'accounts', data: { name: 'Fabrikam' } });
    const leadId = await createLead();
    const result = await qualify(leadId, {
      CreateAccount: false,
      CreateContact: false,
      CreateOpportunity: true,
      Status: 3,
      OpportunityCustomerId: { '@odata.type': 'Microsoft.Dynamics.CRM.account', accountid: customerId },
    });
    expect(result.status).toBe(200);
    const created = (result.body as QualifyResult).value;
    expect(created).toHaveLength(1);
    const opportunity = await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: created[0]?.opportunityid ?? '' });
    expect(opportunity._customerid_value).toBe(customerId);
    expect((await h.api.count({ collection: 'accounts' })) as unknown).toBe(1);
    expect((await h.api.count({ collection: 'contacts' })) as unknown).toBe(0);
  });

  it('rejects a second qualification, an unknown lead, a non-qualified status and missing parameters, changing nothing', async () => {
    const leadId = await createLead();
    expect((await qualify(leadId, FULL)).status).toBe(200);
    const again = await qualify(leadId, FULL);
    expect(again.status).toBe(400);
    expect(JSON.stringify(again.body)).toContain('already closed');
    expect((await h.api.count({ collection: 'opportunities' })) as unknown).toBe(1);

    const unknown = await qualify('00000000-0000-0000-0000-0000000000ff', FULL);
    expect(unknown.status).toBe(404);

    const open = await createLead({ subject: 'Second' });
    const wrongStatus = await qualify(open, { ...FULL, Status: 4 });
    expect(wrongStatus.status).toBe(400);
    const missing = await qualify(open, { CreateAccount: true, CreateContact: true, Status: 3 });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('CreateOpportunity');
    const nameless = await createLead({ subject: 'Third', companyname: null });
    const failed = await qualify(nameless, FULL);
    expect(failed.status).toBe(400);
    expect(JSON.stringify(failed.body)).toContain('companyname');
    const stillOpen = await h.api.retrieve<Lead>({ collection: 'leads', key: nameless, select: ['statecode'] });
    expect(stillOpen.statecode).toBe(0);
    expect((await h.api.count({ collection: 'opportunities' })) as unknown).toBe(1);
  });

  it('is refused for a GET and works through the real client as a bound action', async () => {
    const leadId = await createLead();
    const viaClient = await h.api.callAction<QualifyResult>({ actionName: 'Microsoft.Dynamics.CRM.QualifyLead', collection: 'leads', key: leadId, action: { ...FULL, CreateAccount: false, CreateContact: false } });
    expect(viaClient.value.map((row) => Object.keys(row).includes('opportunityid'))).toEqual([true]);
    const get = await fetch(`${h.sandbox.url}/api/data/v9.2/leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, { headers: { authorization: 'Bearer test-token' } });
    expect(get.status).toBe(405);
  });

  it('runs inside a $batch change set, which a later failure rolls back as a whole', async () => {
    const first = await createLead();
    const closed = await createLead({ subject: 'Already qualified' });
    expect((await qualify(closed, FULL)).status).toBe(200);
    const opportunitiesBefore = await h.api.count({ collection: 'opportunities' });
    h.api.startBatch();
    void h.api.callAction({ actionName: 'Microsoft.Dynamics.CRM.QualifyLead', collection: 'leads', key: first, action: FULL });
    void h.api.callAction({ actionName: 'Microsoft.Dynamics.CRM.QualifyLead', collection: 'leads', key: closed, action: FULL });
    const failure = await expectFailure(h.api.executeBatch());
    expect(failure.status).toBe(400);
    const lead = await h.api.retrieve<Lead>({ collection: 'leads', key: first, select: ['statecode', '_parentaccountid_value'] });
    expect([lead.statecode, lead._parentaccountid_value]).toEqual([0, null]);
    expect(await h.api.count({ collection: 'opportunities' })).toBe(opportunitiesBefore);
  });

  it('announces Create of each new row and Update of the lead through registered webhooks', async () => {
    const endpointId: string = await h.api.create({ collection: 'serviceendpoints', data: { name: 'receiver', url: receiver.url, contract: 8, authtype: 5, authvalue: '<settings><setting name="x-key" value="k"/></settings>', messageformat: 2 } });
    await registerStep('Create', 'opportunity', endpointId);
    await registerStep('Update', 'lead', endpointId);
    const leadId = await createLead();
    const result = await qualify(leadId, FULL);
    const opportunityId = (result.body as QualifyResult).value[2]?.opportunityid;
    await waitFor(() => (receiver.received.length >= 2 ? true : undefined), 5_000, 'the two webhooks');
    const seen = receiver.received.map((delivery) => [delivery.json.MessageName, delivery.json.PrimaryEntityName, delivery.json.PrimaryEntityId]).sort();
    expect(seen).toEqual([
      ['Create', 'opportunity', opportunityId],
      ['Update', 'lead', leadId],
    ]);
  });

  it('leaves no trace of a failed qualification in webhooks', async () => {
    const endpointId: string = await h.api.create({ collection: 'serviceendpoints', data: { name: 'receiver', url: receiver.url, contract: 8, authtype: 5, authvalue: '<settings><setting name="x-key" value="k"/></settings>', messageformat: 2 } });
    await registerStep('Create', 'opportunity', endpointId);
    const leadId = await createLead();
    const result = await qualify(leadId, { ...FULL, OpportunityCurrencyId: { transactioncurrencyid: '00000000-0000-0000-0000-0000000000aa' } });
    expect(result.status).toBe(404);
    expect((await h.api.count({ collection: 'accounts' })) as unknown).toBe(0);
    const created: string = await h.api.create({ collection: 'opportunities', data: { name: 'marker' } });
    await waitFor(() => receiver.received[0], 5_000, 'the marker webhook');
    expect(receiver.received.map((delivery) => delivery.json.PrimaryEntityId)).toEqual([created]);
  });
});
