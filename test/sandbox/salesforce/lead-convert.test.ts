import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'jsforce';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SOAP_BODY_LIMIT_BYTES } from '../../../src/sandbox/salesforce/routes/soap-routes.ts';
import { API_VERSION, expectJsforceError, startHarness, waitFor, type SalesforceHarness } from './helpers.ts';

/*
 * Lead conversion through the Partner SOAP API's convertLead() (SOAP API Developer Guide "convertLead()",
 * "LeadConvertResult"), called with jsforce's `conn.soap.convertLead` as a seller's tool would.
 */

interface RetainedEvent {
  replayId: number;
  entityName: string;
  data: { payload: { ChangeEventHeader: { changeType: string; recordIds: string[]; changedFields: string[]; changeOrigin: string; commitUser: string } } & Record<string, unknown> };
}

const CONVERTED = 'Closed - Converted';
const SOAP_PATH = `/services/Soap/u/${API_VERSION}`;

let h: SalesforceHarness;
let seller: Connection;
let sellerId: string;
let sellerToken: string;

async function createLead(overrides: Record<string, unknown> = {}): Promise<string> {
  const result = await h.conn.sobject('Lead').create({ FirstName: 'Ana', LastName: 'Lopez', Company: 'Contoso', Email: 'ana@contoso.example', Status: 'Open - Not Contacted', LeadSource: 'Partner Referral', ...overrides });
  if (!result.success) throw new Error('lead not created');
  return result.id;
}

async function eventsAfter(replayId: number): Promise<RetainedEvent[]> {
  const log = await h.control<{ value: RetainedEvent[] }>('GET', '/_sandbox/cdc/events');
  return log.body.value.filter((event) => event.replayId > replayId);
}

async function latestReplayId(): Promise<number> {
  return (await h.control<{ latestReplayId: number }>('GET', '/_sandbox/cdc/events')).body.latestReplayId;
}

/** A hand-written SOAP request, for what jsforce would never send. */
function envelope(body: string, sessionId: string | null = sellerToken): string {
  const header = sessionId === null ? '' : `<soapenv:Header><SessionHeader><sessionId>${sessionId}</sessionId></SessionHeader></soapenv:Header>`;
  return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">${header}<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;
}

async function postSoap(body: string, contentType = 'text/xml; charset=UTF-8', path = SOAP_PATH): Promise<{ status: number; text: string; contentType: string | null }> {
  const response = await fetch(`${h.sandbox.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, soapaction: '""' }, body });
  return { status: response.status, text: await response.text(), contentType: response.headers.get('content-type') };
}

const faultCode = (xml: string): string | undefined => /<faultcode>([^<]*)<\/faultcode>/.exec(xml)?.[1];
const faultString = (xml: string): string | undefined => /<faultstring>([^<]*)<\/faultstring>/.exec(xml)?.[1]?.replace(/&apos;/g, "'");

beforeAll(async () => {
  h = await startHarness();
  const minted = await h.control<{ access_token: string; user_id: string }>('POST', '/_sandbox/tokens', { user: 'seller' });
  sellerToken = minted.body.access_token;
  sellerId = minted.body.user_id;
  seller = h.connection({ accessToken: sellerToken, callOptions: { client: 'SellerTool' } });
});
afterAll(async () => h.close());
beforeEach(async () => {
  await h.control('DELETE', '/_sandbox/data?metadata=true');
});

describe('convertLead() through the SOAP API', () => {
  it('converts into a new account, contact and opportunity and records them on the lead', async () => {
    const leadId = await createLead();
    const converted = await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED, opportunityName: 'Contoso - Azure' });
    expect(converted).toMatchObject({ success: true, errors: [], leadId });
    expect(converted.opportunityId).toMatch(/^006/);
    expect(converted.accountId).toMatch(/^001/);
    expect(converted.contactId).toMatch(/^003/);

    const [lead] = (await h.conn.query<Record<string, unknown>>(`SELECT IsConverted, Status, ConvertedOpportunityId, ConvertedAccountId, ConvertedContactId, ConvertedDate FROM Lead WHERE Id = '${leadId}'`)).records;
    expect(lead).toMatchObject({
      IsConverted: true,
      Status: CONVERTED,
      ConvertedOpportunityId: converted.opportunityId,
      ConvertedAccountId: converted.accountId,
      ConvertedContactId: converted.contactId,
    });
    expect(lead?.ConvertedDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    const opportunity = await h.conn.sobject('Opportunity').retrieve(converted.opportunityId ?? '');
    expect(opportunity).toMatchObject({ Name: 'Contoso - Azure', AccountId: converted.accountId, ContactId: converted.contactId, LeadSource: 'Partner Referral', IsClosed: false, CreatedById: sellerId });
    const contact = await h.conn.sobject('Contact').retrieve(converted.contactId ?? '');
    expect(contact).toMatchObject({ LastName: 'Lopez', Email: 'ana@contoso.example', AccountId: converted.accountId });
    expect((await h.conn.sobject('Account').retrieve(converted.accountId ?? '')).Name).toBe('Contoso');
  });

  it('names the opportunity after the company and gives the new rows the lead owner unless told otherwise', async () => {
    const leadId = await createLead({ Company: 'Northwind' });
    const leadOwner = (await h.conn.sobject('Lead').retrieve(leadId)).OwnerId;
    const byDefault = await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED });
    const opportunity = await h.conn.sobject('Opportunity').retrieve(byDefault.opportunityId ?? '');
    expect(opportunity).toMatchObject({ Name: 'Northwind', OwnerId: leadOwner });

    const otherLead = await createLead({ Company: 'Tailspin' });
    const toSeller = await seller.soap.convertLead({ leadId: otherLead, convertedStatus: CONVERTED, ownerId: sellerId });
    expect((await h.conn.sobject('Opportunity').retrieve(toSeller.opportunityId ?? '')).OwnerId).toBe(sellerId);
    expect((await h.conn.sobject('Account').retrieve(toSeller.accountId ?? '')).OwnerId).toBe(sellerId);
  });

  it('raises CREATE events for the new rows and an UPDATE of the lead, as a SOAP API write of the caller', async () => {
    const leadId = await createLead();
    const before = await latestReplayId();
    const converted = await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED });
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
    for (const event of events) {
      expect(event.data.payload.ChangeEventHeader.changeOrigin).toBe(`com/salesforce/api/soap/${API_VERSION};client=SellerTool`);
      expect(event.data.payload.ChangeEventHeader.commitUser).toBe(sellerId);
    }
  });

  it('sends the outbound messages defined on the rows the conversion writes', async () => {
    const received: string[] = [];
    const server: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        response
          .writeHead(200, { 'content-type': 'text/xml' })
          .end('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpointUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/salesforce`;
      for (const sobject of ['Lead', 'Opportunity']) {
        const defined = await h.control('POST', '/_sandbox/outbound-messages', { name: `${sobject} to receiver`, sobject, fields: ['Id'], endpointUrl, trigger: 'createOrUpdate' });
        expect(defined.status).toBe(201);
      }
      const leadId = await createLead();
      await waitFor(() => received.some((body) => body.includes(leadId)) || undefined, 5_000, 'the lead create notification');
      const converted = await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED });
      await waitFor(() => received.some((body) => body.includes(converted.opportunityId ?? 'none')) || undefined, 5_000, 'the opportunity notification');
      expect(received.filter((body) => body.includes(leadId))).toHaveLength(2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('merges into an existing account and contact and can skip the opportunity', async () => {
    const account = await h.conn.sobject('Account').create({ Name: 'Fabrikam' });
    const contact = await h.conn.sobject('Contact').create({ LastName: 'Kim', AccountId: account.id });
    const leadId = await createLead();
    const converted = await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED, accountId: account.id, contactId: contact.id, doNotCreateOpportunity: true });
    expect(converted).toMatchObject({ success: true, accountId: account.id, contactId: contact.id, opportunityId: null });
    expect(await h.conn.sobject('Opportunity').count()).toBe(0);
    expect(await h.conn.sobject('Account').count()).toBe(1);
  });

  it('answers one result per LeadConvert, in order, converting the good ones when another fails', async () => {
    const first = await createLead({ Company: 'First' });
    const second = await createLead({ Company: 'Second' });
    const before = await latestReplayId();
    const results = await seller.soap.convertLead([
      { leadId: first, convertedStatus: CONVERTED },
      { leadId: second, convertedStatus: 'Working - Contacted' },
      { leadId: first, convertedStatus: CONVERTED },
    ]);
    expect(results.map((result) => [result.success, result.errors[0]?.statusCode])).toEqual([
      [true, undefined],
      [false, 'INVALID_STATUS'],
      [false, 'CANNOT_UPDATE_CONVERTED_LEAD'],
    ]);
    expect(await h.conn.sobject('Opportunity').count()).toBe(1);
    expect((await eventsAfter(before)).map((event) => event.entityName)).toEqual(['Account', 'Contact', 'Opportunity', 'Lead']);
  });

  it('refuses a second conversion of a lead, creating nothing and raising no event', async () => {
    const leadId = await createLead();
    await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED });
    const update = await expectJsforceError(h.conn.sobject('Lead').update({ Id: leadId, Company: 'Changed' }));
    expect(update.errorCode).toBe('CANNOT_UPDATE_CONVERTED_LEAD');

    const before = await latestReplayId();
    const again = await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED });
    expect(again).toMatchObject({ success: false, leadId: null, opportunityId: null });
    expect(again.errors).toEqual([expect.objectContaining({ statusCode: 'CANNOT_UPDATE_CONVERTED_LEAD', message: 'cannot reference converted lead' })]);
    expect(await h.conn.sobject('Opportunity').count()).toBe(1);
    expect(await eventsAfter(before)).toEqual([]);
  });

  it('answers the documented per-lead errors and leaves the lead as it was', async () => {
    const leadId = await createLead();
    const contact = await h.conn.sobject('Contact').create({ LastName: 'Orphan' });
    const otherAccount = await h.conn.sobject('Account').create({ Name: 'Other' });
    const cases: Array<[string, Record<string, unknown>, string, string[]]> = [
      ['a status that is not a converted one', { leadId, convertedStatus: 'Working - Contacted' }, 'INVALID_STATUS', ['convertedStatus']],
      ['no convertedStatus', { leadId }, 'REQUIRED_FIELD_MISSING', ['convertedStatus']],
      ['a contact without its account', { leadId, convertedStatus: CONVERTED, contactId: contact.id }, 'REQUIRED_FIELD_MISSING', ['accountId']],
      ['a contact of another account', { leadId, convertedStatus: CONVERTED, accountId: otherAccount.id, contactId: contact.id }, 'INVALID_CROSS_REFERENCE_KEY', ['contactId']],
      ['an unknown lead', { leadId: '00Q000000000000AAA', convertedStatus: CONVERTED }, 'INVALID_CROSS_REFERENCE_KEY', ['leadId']],
      ['an id of another object as the lead', { leadId: otherAccount.id, convertedStatus: CONVERTED }, 'INVALID_CROSS_REFERENCE_KEY', ['leadId']],
      ['an unknown owner', { leadId, convertedStatus: CONVERTED, ownerId: '005000000000000AAA' }, 'INVALID_CROSS_REFERENCE_KEY', ['ownerId']],
      ['overwriteLeadSource without a contact', { leadId, convertedStatus: CONVERTED, overwriteLeadSource: true }, 'REQUIRED_FIELD_MISSING', ['contactId']],
      ['an opportunity name with doNotCreateOpportunity', { leadId, convertedStatus: CONVERTED, doNotCreateOpportunity: true, opportunityName: 'X' }, 'FIELD_INTEGRITY_EXCEPTION', ['opportunityName']],
    ];
    for (const [what, leadConvert, statusCode, fields] of cases) {
      const result = await seller.soap.convertLead(leadConvert);
      expect({ what, success: result.success, errors: result.errors.map((error) => [error.statusCode, error.fields]) }).toEqual({ what, success: false, errors: [[statusCode, fields]] });
    }
    expect((await h.conn.sobject('Lead').retrieve(leadId)).IsConverted).toBe(false);
    expect(await h.conn.sobject('Opportunity').count()).toBe(0);
    expect(await h.conn.sobject('Account').count()).toBe(1);
  });
});

describe('the SOAP endpoint refuses what it must', () => {
  it('faults INVALID_SESSION_ID for an unknown, revoked or missing session, and jsforce reports it', async () => {
    const leadId = await createLead();
    const unknown = await expectJsforceError(h.connection({ accessToken: '00D000000000000!not-a-session' }).soap.convertLead({ leadId, convertedStatus: CONVERTED }));
    expect(unknown.errorCode).toBe('sf:INVALID_SESSION_ID');
    expect(unknown.message).toContain('Invalid Session ID found in SessionHeader');

    const minted = await h.control<{ access_token: string }>('POST', '/_sandbox/tokens', { user: 'seller' });
    await h.control('DELETE', '/_sandbox/tokens?user=seller');
    const revoked = await expectJsforceError(h.connection({ accessToken: minted.body.access_token }).soap.convertLead({ leadId, convertedStatus: CONVERTED }));
    expect(revoked.errorCode).toBe('sf:INVALID_SESSION_ID');
    // The seller's session of this file was revoked too.
    const fresh = await h.control<{ access_token: string }>('POST', '/_sandbox/tokens', { user: 'seller' });
    sellerToken = fresh.body.access_token;
    seller = h.connection({ accessToken: sellerToken, callOptions: { client: 'SellerTool' } });

    const missing = await postSoap(envelope(`<convertLead><leadConverts><leadId>${leadId}</leadId><convertedStatus>${CONVERTED}</convertedStatus></leadConverts></convertLead>`, null));
    expect(missing.status).toBe(500);
    expect(faultCode(missing.text)).toBe('sf:INVALID_SESSION_ID');
    // A REST bearer header is not a SOAP session.
    const bearerOnly = await fetch(`${h.sandbox.url}${SOAP_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml', authorization: `Bearer ${sellerToken}` },
      body: envelope(`<convertLead><leadConverts><leadId>${leadId}</leadId><convertedStatus>${CONVERTED}</convertedStatus></leadConverts></convertLead>`, null),
    });
    expect(faultCode(await bearerOnly.text())).toBe('sf:INVALID_SESSION_ID');
    expect((await h.conn.sobject('Lead').retrieve(leadId)).IsConverted).toBe(false);
  });

  it('counts each call against the daily allocation and faults REQUEST_LIMIT_EXCEEDED beyond it', async () => {
    const leadId = await createLead();
    const { used } = (await h.control<{ used: number }>('GET', '/_sandbox/limits')).body;
    await seller.soap.convertLead({ leadId, convertedStatus: 'Working - Contacted' });
    expect((await h.control<{ used: number }>('GET', '/_sandbox/limits')).body.used).toBe(used + 1);
    await h.control('POST', '/_sandbox/limits', { used: 10, max: 10 });
    try {
      const refused = await expectJsforceError(seller.soap.convertLead({ leadId, convertedStatus: CONVERTED }));
      expect(refused.errorCode).toBe('sf:REQUEST_LIMIT_EXCEEDED');
    } finally {
      await h.control('POST', '/_sandbox/limits', { used: 0, max: 15_000 });
    }
    expect((await h.conn.sobject('Lead').retrieve(leadId)).IsConverted).toBe(false);
  });

  it('refuses a body over the limit with a fault, without reading it all, and keeps serving', async () => {
    const oversize = envelope(`<convertLead><leadConverts><leadId>${'x'.repeat(SOAP_BODY_LIMIT_BYTES)}</leadId></leadConverts></convertLead>`);
    const refused = await postSoap(oversize);
    expect(refused.status).toBe(413);
    expect(refused.contentType).toMatch(/^text\/xml/);
    expect(faultCode(refused.text)).toBe('soapenv:Client');
    const leadId = await createLead();
    expect((await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED })).success).toBe(true);
  });

  it('refuses malformed, hostile or unexpected XML with a client fault and keeps serving', async () => {
    const leadId = await createLead();
    const call = `<convertLead><leadConverts><leadId>${leadId}</leadId><convertedStatus>${CONVERTED}</convertedStatus></leadConverts></convertLead>`;
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>${envelope(`<convertLead><leadConverts><leadId>&lol2;</leadId></leadConverts></convertLead>`).replace('<?xml version="1.0" encoding="UTF-8"?>', '')}`;
    const deep = envelope(`${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`);
    const many = envelope(`<convertLead>${`<leadConverts><leadId>${leadId}</leadId><convertedStatus>${CONVERTED}</convertedStatus></leadConverts>`.repeat(101)}</convertLead>`);
    const cases: Array<[string, string, string, string]> = [
      ['not XML', 'this is not xml', 'soapenv:Client', 'not well-formed'],
      ['an unclosed element', envelope(call).slice(0, -20), 'soapenv:Client', 'not well-formed'],
      ['a DOCTYPE with entities', laughs, 'soapenv:Client', 'DOCTYPE'],
      ['elements nested too deeply', deep, 'soapenv:Client', 'nested too deeply'],
      ['a SOAP 1.2 envelope', envelope(call).replace('http://schemas.xmlsoap.org/soap/envelope/', 'http://www.w3.org/2003/05/soap-envelope'), 'soapenv:VersionMismatch', 'SOAP 1.1'],
      ['another call', envelope('<query><queryString>SELECT Id FROM Lead</queryString></query>'), 'soapenv:Client', 'No operation available for request {urn:partner.soap.sforce.com}query'],
      ['an element LeadConvert does not have', envelope(call.replace('<leadId>', '<shoeSize>9</shoeSize><leadId>')), 'soapenv:Client', '{urn:partner.soap.sforce.com}shoeSize invalid'],
      ['a boolean that is not xsd:boolean', envelope(call.replace('<leadId>', '<doNotCreateOpportunity>yes</doNotCreateOpportunity><leadId>')), 'soapenv:Client', "'yes' is not a valid value for the type xsd:boolean"],
      ['more than 100 leads', many, 'sf:EXCEEDED_ID_LIMIT', 'more than 100 leads'],
    ];
    for (const [what, body, code, fragment] of cases) {
      const answer = await postSoap(body);
      expect({ what, status: answer.status, code: faultCode(answer.text), fragment: faultString(answer.text)?.includes(fragment) }).toEqual({ what, status: 500, code, fragment: true });
    }
    const json = await postSoap(JSON.stringify({ leadId }), 'application/json');
    expect([json.status, faultCode(json.text)]).toEqual([415, 'soapenv:Client']);
    const oldVersion = await postSoap(envelope(call), 'text/xml', '/services/Soap/u/99.0');
    expect(faultCode(oldVersion.text)).toBe('sf:UNSUPPORTED_API_VERSION');

    expect((await h.conn.sobject('Lead').retrieve(leadId)).IsConverted).toBe(false);
    expect((await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED })).success).toBe(true);
  });

  it('accepts the org-qualified endpoint URL and a raw envelope with a nil element', async () => {
    const leadId = await createLead();
    const organizationId = (await h.control<{ id: string }>('GET', '/_sandbox/organization')).body.id;
    const answer = await postSoap(
      envelope(`<convertLead xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><leadConverts><leadId>${leadId}</leadId><convertedStatus>${CONVERTED}</convertedStatus><ownerId xsi:nil="true"/></leadConverts></convertLead>`),
      'text/xml',
      `${SOAP_PATH}/${organizationId}`,
    );
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('<success>true</success>');
    expect(answer.text).toMatch(/<LimitInfoHeader><limitInfo><current>\d+<\/current><limit>\d+<\/limit><type>API REQUESTS<\/type><\/limitInfo><\/LimitInfoHeader>/);
  });
});
