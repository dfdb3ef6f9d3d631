import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectJsforceError, startHarness, type SalesforceHarness } from './helpers.ts';

interface ConvertResult {
  leadId: string;
  accountId: string;
  contactId: string;
  opportunityId: string | null;
  success: boolean;
}
interface ErrorEntry {
  errorCode: string;
  message: string;
}
interface RetainedEvent {
  replayId: number;
  entityName: string;
  data: { payload: { ChangeEventHeader: { changeType: string; recordIds: string[]; changedFields: string[] } } & Record<string, unknown> };
}

let h: SalesforceHarness;

async function createLead(overrides: Record<string, unknown> = {}): Promise<string> {
  const result = await h.conn.sobject('Lead').create({ FirstName: 'Ana', LastName: 'Lopez', Company: 'Contoso', Email: 'ana@contoso.example', Status: 'Open - Not Contacted', LeadSource: 'Partner Referral', ...overrides });
  if (!result.success) throw new Error('lead not created');
  return result.id;
}

const convert = (leadId: string, body: Record<string, unknown>) => h.control<ConvertResult | ErrorEntry[]>('POST', `/_sandbox/leads/${leadId}/convert`, body);

async function eventsAfter(replayId: number): Promise<RetainedEvent[]> {
  const log = await h.control<{ value: RetainedEvent[] }>('GET', '/_sandbox/cdc/events');
  return log.body.value.filter((event) => event.replayId > replayId);
}

async function latestReplayId(): Promise<number> {
  return (await h.control<{ latestReplayId: number }>('GET', '/_sandbox/cdc/events')).body.latestReplayId;
}

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());
beforeEach(async () => {
  await h.control('DELETE', '/_sandbox/data');
});

describe('lead conversion (convertLead as a seller)', () => {
  it('converts into a new account, contact and opportunity and records them on the lead', async () => {
    const leadId = await createLead();
    const result = await convert(leadId, { convertedStatus: 'Closed - Converted', opportunityName: 'Contoso - Azure' });
    expect(result.status).toBe(200);
    const converted = result.body as ConvertResult;
    expect(converted.success).toBe(true);
    expect(converted.leadId).toBe(leadId);
    expect(converted.opportunityId).toMatch(/^006/);

    const [lead] = (await h.conn.query<Record<string, unknown>>(`SELECT IsConverted, Status, ConvertedOpportunityId, ConvertedAccountId, ConvertedContactId, ConvertedDate FROM Lead WHERE Id = '${leadId}'`)).records;
    expect(lead).toMatchObject({
      IsConverted: true,
      Status: 'Closed - Converted',
      ConvertedOpportunityId: converted.opportunityId,
      ConvertedAccountId: converted.accountId,
      ConvertedContactId: converted.contactId,
    });
    expect(lead?.ConvertedDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    const opportunity = await h.conn.sobject('Opportunity').retrieve(converted.opportunityId ?? '');
    expect(opportunity).toMatchObject({ Name: 'Contoso - Azure', AccountId: converted.accountId, ContactId: converted.contactId, LeadSource: 'Partner Referral', IsClosed: false });
    const contact = await h.conn.sobject('Contact').retrieve(converted.contactId);
    expect(contact).toMatchObject({ LastName: 'Lopez', Email: 'ana@contoso.example', AccountId: converted.accountId });
    expect((await h.conn.sobject('Account').retrieve(converted.accountId)).Name).toBe('Contoso');
  });

  it('raises CREATE events for the new rows and an UPDATE of the lead naming the converted fields', async () => {
    const leadId = await createLead();
    const before = await latestReplayId();
    const converted = (await convert(leadId, { convertedStatus: 'Closed - Converted' })).body as ConvertResult;
    const events = await eventsAfter(before);
    const summary = events.map((event) => [event.entityName, event.data.payload.ChangeEventHeader.changeType, event.data.payload.ChangeEventHeader.recordIds[0]]);
    expect(summary).toEqual([
      ['Account', 'CREATE', converted.accountId],
      ['Contact', 'CREATE', converted.contactId],
      ['Opportunity', 'CREATE', converted.opportunityId],
      ['Lead', 'UPDATE', leadId],
    ]);
    const leadEvent = events[3]?.data.payload;
    expect(leadEvent?.ChangeEventHeader.changedFields).toEqual(expect.arrayContaining(['IsConverted', 'ConvertedOpportunityId', 'ConvertedAccountId', 'ConvertedContactId', 'ConvertedDate', 'Status']));
    expect(leadEvent?.ConvertedOpportunityId).toBe(converted.opportunityId);
  });

  it('merges into an existing account and contact and can skip the opportunity', async () => {
    const account = await h.conn.sobject('Account').create({ Name: 'Fabrikam' });
    const contact = await h.conn.sobject('Contact').create({ LastName: 'Kim', AccountId: account.id });
    const leadId = await createLead();
    const converted = (await convert(leadId, { convertedStatus: 'Closed - Converted', accountId: account.id, contactId: contact.id, doNotCreateOpportunity: true })).body as ConvertResult;
    expect([converted.accountId, converted.contactId, converted.opportunityId]).toEqual([account.id, contact.id, null]);
    expect(await h.conn.sobject('Opportunity').count()).toBe(0);
    expect(await h.conn.sobject('Account').count()).toBe(1);
  });

  it('makes the lead read-only and refuses a second conversion, with nothing created', async () => {
    const leadId = await createLead();
    await convert(leadId, { convertedStatus: 'Closed - Converted' });
    const update = await expectJsforceError(h.conn.sobject('Lead').update({ Id: leadId, Company: 'Changed' }));
    expect(update.errorCode).toBe('CANNOT_UPDATE_CONVERTED_LEAD');
    expect(update.message).toContain('cannot reference converted lead');
    const asSeller = await h.control<ErrorEntry[]>('PATCH', `/_sandbox/records/Lead/${leadId}`, { Company: 'Changed' });
    expect(asSeller.status).toBe(400);

    const before = await latestReplayId();
    const again = await convert(leadId, { convertedStatus: 'Closed - Converted' });
    expect(again.status).toBe(400);
    expect((again.body as ErrorEntry[])[0]?.errorCode).toBe('CANNOT_UPDATE_CONVERTED_LEAD');
    expect(await h.conn.sobject('Opportunity').count()).toBe(1);
    expect(await eventsAfter(before)).toEqual([]);
  });

  it('rejects a status that is not a converted one, a contact without its account, and an unknown lead', async () => {
    const leadId = await createLead();
    const wrongStatus = await convert(leadId, { convertedStatus: 'Working - Contacted' });
    expect(wrongStatus.status).toBe(400);
    const missingStatus = await convert(leadId, {});
    expect(missingStatus.status).toBe(400);
    const contact = await h.conn.sobject('Contact').create({ LastName: 'Orphan' });
    const contactOnly = await convert(leadId, { convertedStatus: 'Closed - Converted', contactId: contact.id });
    expect(contactOnly.status).toBe(400);
    const otherAccount = await h.conn.sobject('Account').create({ Name: 'Other' });
    const mismatch = await convert(leadId, { convertedStatus: 'Closed - Converted', accountId: otherAccount.id, contactId: contact.id });
    expect(mismatch.status).toBe(400);
    expect((await h.conn.sobject('Lead').retrieve(leadId)).IsConverted).toBe(false);
    expect(await h.conn.sobject('Opportunity').count()).toBe(0);
    const unknown = await convert('00Q000000000000AAA', { convertedStatus: 'Closed - Converted' });
    expect(unknown.status).toBe(404);
  });
});
