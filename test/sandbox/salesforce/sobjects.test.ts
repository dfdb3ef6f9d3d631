import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_USERS } from '../../../src/sandbox/salesforce/index.ts';
import { API_VERSION, expectJsforceError, opportunity, startHarness, type SalesforceHarness } from './helpers.ts';

interface DescribeField {
  name: string;
  type: string;
  length: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  externalId: boolean;
  unique: boolean;
  referenceTo: string[];
  relationshipName: string | null;
  picklistValues: Array<{ value: string; label: string; active: boolean; defaultValue: boolean }>;
}

const base = `/services/data/v${API_VERSION}`;

describe('sObject describe and CRUD', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness();
    // An external-id field like the connector's Referral_Identifier__c ("Co-sell connector for Salesforce CRM -
    // overview"), unique so duplicates are refused.
    await h.conn.tooling.sobject('CustomField').create({
      FullName: 'Opportunity.Referral_Identifier__c',
      Metadata: { label: 'Referral', type: 'Text', length: 100, externalId: true, unique: true },
    });
  });
  afterAll(async () => h.close());

  it('describes Opportunity with types, lengths, picklists, references and the stages as StageName values', async () => {
    const describe = await h.conn.sobject('Opportunity').describe();
    expect(describe).toMatchObject({ name: 'Opportunity', keyPrefix: '006', createable: true, queryable: true });
    const fields = describe.fields as unknown as DescribeField[];
    const field = (name: string): DescribeField | undefined => fields.find((f) => f.name === name);
    expect(field('Id')).toMatchObject({ type: 'id', length: 18, createable: false });
    expect(field('Name')).toMatchObject({ type: 'string', length: 120, nillable: false });
    expect(field('Amount')?.type).toBe('currency');
    expect(field('CloseDate')?.type).toBe('date');
    expect(field('Description')).toMatchObject({ type: 'textarea', length: 32000 });
    expect(field('IsWon')).toMatchObject({ type: 'boolean', createable: false, updateable: false });
    expect(field('AccountId')).toMatchObject({ type: 'reference', referenceTo: ['Account'], relationshipName: 'Account' });
    expect(field('LastModifiedDate')?.type).toBe('datetime');
    expect(field('StageName')?.picklistValues.map((entry) => entry.value)).toEqual([
      'Prospecting',
      'Qualification',
      'Needs Analysis',
      'Value Proposition',
      'Id. Decision Makers',
      'Perception Analysis',
      'Proposal/Price Quote',
      'Negotiation/Review',
      'Closed Won',
      'Closed Lost',
    ]);
    expect(field('CurrencyIsoCode')?.picklistValues.find((entry) => entry.value === 'USD')?.defaultValue).toBe(true);
    expect(field('Referral_Identifier__c')).toMatchObject({ type: 'string', length: 100, externalId: true, unique: true });
    const corporate = await h.conn.query<{ IsoCode: string }>('SELECT IsoCode FROM CurrencyType WHERE IsCorporate = true AND IsActive = true');
    expect(corporate.records.map((row) => row.IsoCode)).toEqual(['USD']);
    const lead = (await h.conn.sobject('Lead').describe()).fields as unknown as DescribeField[];
    expect(lead.find((f) => f.name === 'Status')?.picklistValues.map((entry) => entry.value)).toEqual([
      'Open - Not Contacted',
      'Working - Contacted',
      'Closed - Converted',
      'Closed - Not Converted',
    ]);
  });

  it('creates, reads, updates and deletes an opportunity with 18-character ids and audit fields', async () => {
    const account = await h.conn.sobject('Account').create({ Name: 'Contoso', BillingCountry: 'US' });
    expect(account.id).toMatch(/^001[A-Za-z0-9]{15}$/);
    const created = await h.conn.sobject('Opportunity').create(opportunity({ AccountId: account.id, CurrencyIsoCode: 'EUR' }));
    expect(created).toEqual({ id: expect.stringMatching(/^006[A-Za-z0-9]{15}$/), success: true, errors: [] });
    const id = created.id ?? '';
    const record = await h.conn.sobject('Opportunity').retrieve(id);
    expect(record).toMatchObject({
      attributes: { type: 'Opportunity', url: `${base}/sobjects/Opportunity/${id}` },
      Id: id,
      Name: 'Contoso - 500 seats',
      Amount: 50_000,
      CloseDate: '2026-12-31',
      CurrencyIsoCode: 'EUR',
      OwnerId: SANDBOX_USERS.integration.id,
      LastModifiedById: SANDBOX_USERS.integration.id,
      IsDeleted: false,
    });
    expect(String(record.LastModifiedDate)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);

    const partial = await h.http<Record<string, unknown>>('GET', `${base}/sobjects/Opportunity/${id}?fields=Name,Amount`);
    expect(Object.keys(partial.body)).toEqual(['attributes', 'Name', 'Amount']);
    // A 15-character id reaches the same record.
    expect((await h.conn.sobject('Opportunity').retrieve(id.slice(0, 15))).Id).toBe(id);

    const updated = await h.conn.sobject('Opportunity').update({ Id: id, Amount: 75_000.555, Description: '' });
    expect(updated).toEqual({ id, success: true, errors: [] });
    const afterUpdate = await h.conn.sobject('Opportunity').retrieve(id);
    expect(afterUpdate.Amount).toBe(75_000.56);
    expect(afterUpdate.Description).toBeNull();

    await h.conn.sobject('Opportunity').destroy(id);
    const gone = await expectJsforceError(h.conn.sobject('Opportunity').retrieve(id));
    expect(gone.errorCode).toBe('ENTITY_IS_DELETED');
    const unknown = await expectJsforceError(h.conn.sobject('Opportunity').retrieve('006000000000000AAA'));
    expect(unknown.errorCode).toBe('NOT_FOUND');
  });

  it('rejects bad input with the documented error array and writes nothing', async () => {
    const missing = await h.http('POST', `${base}/sobjects/Opportunity`, { Name: 'No stage' });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual([{ message: 'Required fields are missing: [StageName, CloseDate]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['StageName', 'CloseDate'] }]);
    const unknownField = await expectJsforceError(h.conn.sobject('Opportunity').create(opportunity({ Bogus__c: 1 })));
    expect(unknownField.errorCode).toBe('INVALID_FIELD');
    expect(unknownField.message).toBe("No such column 'Bogus__c' on sobject of type Opportunity");
    const badStage = await expectJsforceError(h.conn.sobject('Opportunity').create(opportunity({ StageName: 'Dreaming' })));
    expect(badStage.errorCode).toBe('INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
    const readOnly = await expectJsforceError(h.conn.sobject('Opportunity').create(opportunity({ IsWon: true })));
    expect(readOnly.errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    const badDate = await expectJsforceError(h.conn.sobject('Opportunity').create(opportunity({ CloseDate: '31/12/2026' })));
    expect(badDate.errorCode).toBe('JSON_PARSER_ERROR');
    const badLookup = await expectJsforceError(h.conn.sobject('Opportunity').create(opportunity({ AccountId: '001000000000000AAA' })));
    expect(badLookup.errorCode).toBe('INVALID_CROSS_REFERENCE_KEY');
    const noStatus = await expectJsforceError(h.conn.sobject('Lead').create({ LastName: 'Doe', Company: 'Acme' }));
    expect(noStatus.errorCode).toBe('REQUIRED_FIELD_MISSING');
    expect(noStatus.message).toContain('[Status]');
    const count = await h.conn.query('SELECT COUNT() FROM Opportunity WHERE Name = \'No stage\'');
    expect(count.totalSize).toBe(0);
  });

  it('recomputes IsClosed, IsWon, Probability and forecast category when StageName changes, including custom stages', async () => {
    const { id = '' } = await h.conn.sobject('Opportunity').create(opportunity({ StageName: 'Negotiation/Review' }));
    const open = await h.conn.sobject('Opportunity').retrieve(id);
    expect(open).toMatchObject({ IsClosed: false, IsWon: false, Probability: 90, ForecastCategoryName: 'Pipeline', ExpectedRevenue: 45_000 });
    await h.conn.sobject('Opportunity').update({ Id: id, StageName: 'Closed Won' });
    expect(await h.conn.sobject('Opportunity').retrieve(id)).toMatchObject({ IsClosed: true, IsWon: true, Probability: 100, ForecastCategoryName: 'Closed', ForecastCategory: 'Closed' });
    await h.conn.sobject('Opportunity').update({ Id: id, StageName: 'Closed Lost' });
    expect(await h.conn.sobject('Opportunity').retrieve(id)).toMatchObject({ IsClosed: true, IsWon: false, Probability: 0 });

    const stage = await h.control('POST', '/_sandbox/stages', { apiName: 'Microsoft On Hold', isClosed: false, isWon: false, defaultProbability: 5 });
    expect(stage.status).toBe(201);
    await h.conn.sobject('Opportunity').update({ Id: id, StageName: 'microsoft on hold', Probability: 12 });
    expect(await h.conn.sobject('Opportunity').retrieve(id)).toMatchObject({ StageName: 'Microsoft On Hold', IsClosed: false, IsWon: false, Probability: 12 });
    const stages = await h.conn.query<{ ApiName: string; IsWon: boolean; DefaultProbability: number }>(
      "SELECT ApiName, IsWon, DefaultProbability FROM OpportunityStage WHERE IsClosed = false ORDER BY SortOrder DESC LIMIT 1",
    );
    expect(stages.records[0]).toMatchObject({ ApiName: 'Microsoft On Hold', IsWon: false, DefaultProbability: 5 });
  });

  it('upserts by external id: 201 created:true, then 200 created:false, and refuses a duplicate external id', async () => {
    const path = `${base}/sobjects/Opportunity/Referral_Identifier__c/REF-1`;
    const created = await h.http<Record<string, unknown>>('PATCH', path, opportunity({ Name: 'Upserted' }));
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(/^006/), success: true, errors: [], created: true });
    const updated = await h.http<Record<string, unknown>>('PATCH', path, { Amount: 1 });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ id: created.body.id, success: true, errors: [], created: false });

    const viaJsforce = await h.conn.sobject('Opportunity').upsert({ Referral_Identifier__c: 'ref-1', Amount: 2 }, 'Referral_Identifier__c');
    expect(viaJsforce).toMatchObject({ id: created.body.id, success: true, created: false });
    expect((await h.conn.sobject('Opportunity').retrieve(String(created.body.id))).Amount).toBe(2);
    const byExternalId = await h.http<Record<string, unknown>>('GET', `${base}/sobjects/Opportunity/Referral_Identifier__c/REF-1`);
    expect(byExternalId.body.Id).toBe(created.body.id);

    // Unique external ids compare case-insensitively.
    const duplicate = await expectJsforceError(h.conn.sobject('Opportunity').create(opportunity({ Referral_Identifier__c: 'Ref-1' })));
    expect(duplicate.errorCode).toBe('DUPLICATE_VALUE');
    expect(duplicate.message).toContain(String(created.body.id));

    const older = await h.http('PATCH', `/services/data/v45.0/sobjects/Opportunity/Referral_Identifier__c/REF-1`, { Amount: 3 });
    expect(older.status).toBe(204);
    const notExternal = await h.http('PATCH', `${base}/sobjects/Opportunity/Name/whatever`, { Amount: 3 });
    expect(notExternal.status).toBe(404);
  });

  it('answers 412 to an update whose If-Unmodified-Since predates the last modification, and applies it otherwise', async () => {
    const { id = '' } = await h.conn.sobject('Opportunity').create(opportunity());
    const record = await h.conn.sobject('Opportunity').retrieve(id);
    const lastModified = Date.parse(String(record.LastModifiedDate).replace('+0000', 'Z'));
    const stale = new Date(lastModified - 10_000).toUTCString();
    const error = await expectJsforceError(h.conn.sobject('Opportunity').update({ Id: id, Amount: 1 }, { headers: { 'If-Unmodified-Since': stale } }));
    expect(error.errorCode).toBe('PRECONDITION_FAILED');
    expect((await h.conn.sobject('Opportunity').retrieve(id)).Amount).toBe(50_000);
    const fresh = await h.http('PATCH', `${base}/sobjects/Opportunity/${id}`, { Amount: 2 }, { 'if-unmodified-since': new Date(lastModified).toUTCString() });
    expect(fresh.status).toBe(204);
    const invalid = await h.http('PATCH', `${base}/sobjects/Opportunity/${id}`, { Amount: 3 }, { 'if-unmodified-since': 'yesterday-ish' });
    expect(invalid.status).toBe(400);
    const notModified = await h.http('GET', `${base}/sobjects/Opportunity/${id}`, undefined, { 'if-modified-since': new Date(Date.now() + 60_000).toUTCString() });
    expect(notModified.status).toBe(304);
  });

  it('returns an ETag for accounts and enforces If-Match on them', async () => {
    const { id = '' } = await h.conn.sobject('Account').create({ Name: 'Fabrikam' });
    const read = await h.http('GET', `${base}/sobjects/Account/${id}`);
    const etag = read.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    expect((await h.http('PATCH', `${base}/sobjects/Account/${id}`, { Phone: '1' }, { 'if-match': etag })).status).toBe(204);
    const conflict = await h.http('PATCH', `${base}/sobjects/Account/${id}`, { Phone: '2' }, { 'if-match': etag });
    expect(conflict.status).toBe(412);
    expect((await h.http('GET', `${base}/sobjects/Account/${id}`, undefined, { 'if-none-match': etag })).status).toBe(200);
  });

  it('lets the control API act as a seller: LastModifiedById is the seller and reads see the change', async () => {
    const { id = '' } = await h.conn.sobject('Opportunity').create(opportunity());
    const patched = await h.control<Record<string, unknown>>('PATCH', `/_sandbox/records/Opportunity/${id}`, { Amount: 99 });
    expect(patched.status).toBe(200);
    const record = await h.conn.sobject('Opportunity').retrieve(id);
    expect(record).toMatchObject({ Amount: 99, LastModifiedById: SANDBOX_USERS.seller.id, OwnerId: SANDBOX_USERS.integration.id });
    const listed = await h.control<{ count: number }>('GET', '/_sandbox/records/Opportunity');
    expect(listed.body.count).toBeGreaterThan(0);
    expect((await h.control('DELETE', `/_sandbox/records/Opportunity/${id}`)).status).toBe(204);
    expect((await expectJsforceError(h.conn.sobject('Opportunity').retrieve(id))).errorCode).toBe('ENTITY_IS_DELETED');
    expect((await h.control('POST', `/_sandbox/records/Opportunity/${id}/undelete`)).status).toBe(200);
    expect((await h.conn.sobject('Opportunity').retrieve(id)).IsDeleted).toBe(false);
  });

  it('lists only the asked fields through the control API with ?select=', async () => {
    const { id = '' } = await h.conn.sobject('Opportunity').create(opportunity());
    const listed = await h.control<{ value: Array<Record<string, unknown>> }>('GET', '/_sandbox/records/Opportunity?select=Id,Name');
    const row = listed.body.value.find((r) => r.Id === id);
    expect(Object.keys(row ?? {}).sort()).toEqual(['Id', 'Name', 'attributes']);
    const whole = await h.control<{ value: Array<Record<string, unknown>> }>('GET', '/_sandbox/records/Opportunity');
    expect(Object.keys(whole.body.value.find((r) => r.Id === id) ?? {})).toContain('StageName');
  });

  it('lists records changed and deleted in a window (getUpdated / getDeleted)', async () => {
    const start = new Date(Date.now() - 60_000);
    const { id = '' } = await h.conn.sobject('Contact').create({ LastName: 'Replicated' });
    await h.conn.sobject('Contact').destroy(id);
    const end = new Date(Date.now() + 60_000);
    const deleted = await h.conn.sobject('Contact').deleted(start, end);
    expect(deleted.deletedRecords.map((row) => row.id)).toContain(id);
    const { id: liveId = '' } = await h.conn.sobject('Contact').create({ LastName: 'Alive' });
    const updated = await h.conn.sobject('Contact').updated(start, new Date(Date.now() + 60_000));
    expect(updated.ids).toContain(liveId);
    expect(updated.ids).not.toContain(id);
  });
});

describe('REST protocol edges', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('answers malformed bodies, wrong methods, unknown objects and non-id segments like Salesforce', async () => {
    const malformed = await h.http('POST', `${base}/sobjects/Account`, '{"Name":', { 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect((malformed.body as Array<{ errorCode: string }>)[0]?.errorCode).toBe('JSON_PARSER_ERROR');
    const put = await h.http('PUT', `${base}/sobjects/Account/001000000000000AAA`, { Name: 'x' });
    expect(put.status).toBe(405);
    expect(put.body).toEqual([{ message: "HTTP Method 'PUT' not allowed. Allowed are GET,PATCH,DELETE", errorCode: 'METHOD_NOT_ALLOWED' }]);
    const unknownObject = await h.http('GET', `${base}/sobjects/Deal__c/describe`);
    expect(unknownObject.status).toBe(404);
    expect(unknownObject.body).toEqual([{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }]);
    const notAnId = await h.http('GET', `${base}/sobjects/Account/not-an-id`);
    expect(notAnId.body).toEqual([{ message: 'Provided external ID field does not exist or is not accessible: not-an-id', errorCode: 'NOT_FOUND' }]);
    const wrongType = await h.http('GET', `${base}/sobjects/Account/006000000000000AAA`);
    expect(wrongType.status).toBe(400);
    const text = await h.http('POST', `${base}/sobjects/Account`, 'Name=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect((text.body as Array<{ errorCode: string }>)[0]?.errorCode).toBe('UNSUPPORTED_MEDIA_TYPE');
    const readOnlyObject = await expectJsforceError(h.conn.sobject('User').create({ LastName: 'Nope' }));
    expect(readOnlyObject.errorCode).toBe('INVALID_TYPE_FOR_OPERATION');
  });
});

describe('single-currency org', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness({ multiCurrency: false });
  });
  afterAll(async () => h.close());

  it('has no CurrencyIsoCode field and refuses one in a body', async () => {
    const fields = (await h.conn.sobject('Opportunity').describe()).fields.map((field) => field.name);
    expect(fields).not.toContain('CurrencyIsoCode');
    const error = await expectJsforceError(h.conn.sobject('Opportunity').create(opportunity({ CurrencyIsoCode: 'USD' })));
    expect(error.errorCode).toBe('INVALID_FIELD');
    expect((await expectJsforceError(h.conn.query('SELECT IsoCode FROM CurrencyType'))).errorCode).toBe('INVALID_TYPE');
  });
});
