import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API_VERSION, expectJsforceError, opportunity, startHarness, type SalesforceHarness } from './helpers.ts';

const base = `/services/data/v${API_VERSION}`;

interface SaveResult {
  id?: string;
  success: boolean;
  errors: Array<{ statusCode: string; message: string; fields: string[] }>;
  created?: boolean;
}

describe('sObject Collections and /composite', () => {
  let h: SalesforceHarness;
  beforeAll(async () => {
    h = await startHarness();
    await h.conn.tooling.sobject('CustomField').create({
      FullName: 'Account.Customer_Key__c',
      Metadata: { label: 'Customer key', type: 'Text', length: 40, externalId: true, unique: true },
    });
  });
  afterAll(async () => h.close());
  beforeEach(async () => {
    await h.control('DELETE', '/_sandbox/data');
    await h.control('DELETE', '/_sandbox/requests');
  });

  it('creates 200 records in one call (one API request) through jsforce', async () => {
    const rows = Array.from({ length: 200 }, (_, index) => ({ Name: `Bulk ${index}`, BillingCountry: 'US' }));
    const results = (await h.conn.sobject('Account').create(rows)) as SaveResult[];
    expect(results).toHaveLength(200);
    expect(results.every((result) => result.success && /^001/.test(result.id ?? ''))).toBe(true);
    const counts = await h.control<{ total: number; routes: Record<string, number> }>('GET', '/_sandbox/requests');
    expect(counts.body.routes).toEqual({ 'POST /services/data/:version/composite/sobjects': 1 });
    expect((await h.conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(200);
  });

  it('refuses more than 200 records with EXCEEDED_ID_LIMIT', async () => {
    const rows = Array.from({ length: 201 }, (_, index) => ({ attributes: { type: 'Account' }, Name: `Too many ${index}` }));
    const response = await h.http('POST', `${base}/composite/sobjects`, { allOrNone: false, records: rows });
    expect(response.status).toBe(400);
    expect(response.body).toEqual([{ message: 'record limit reached. cannot submit more than 200 records into this call', errorCode: 'EXCEEDED_ID_LIMIT' }]);
  });

  it('rolls everything back with allOrNone when one record fails', async () => {
    const before = await h.control<{ latestReplayId: number }>('GET', '/_sandbox/cdc/events');
    const rows = [{ Name: 'Good 1' }, { Name: '' }, { Name: 'Good 2' }];
    const results = (await h.conn.sobject('Account').create(rows, { allOrNone: true })) as SaveResult[];
    expect(results.map((result) => result.success)).toEqual([false, false, false]);
    expect(results[0]?.errors[0]?.statusCode).toBe('ALL_OR_NONE_OPERATION_ROLLED_BACK');
    expect(results[1]?.errors).toEqual([{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [Name]', fields: ['Name'] }]);
    expect(results[2]?.errors[0]?.statusCode).toBe('ALL_OR_NONE_OPERATION_ROLLED_BACK');
    expect((await h.conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(0);
    // Nothing committed, so no change events either.
    expect((await h.control<{ latestReplayId: number }>('GET', '/_sandbox/cdc/events')).body.latestReplayId).toBe(before.body.latestReplayId);
  });

  it('keeps the valid records without allOrNone and reports the invalid one', async () => {
    const results = (await h.conn.sobject('Account').create([{ Name: 'Kept' }, { Name: 'x'.repeat(256) }])) as SaveResult[];
    expect(results[0]?.success).toBe(true);
    expect(results[1]).toMatchObject({ success: false, errors: [{ statusCode: 'STRING_TOO_LONG' }] });
    expect((await h.conn.query('SELECT Name FROM Account')).records.map((row) => row.Name)).toEqual(['Kept']);
  });

  it('updates, retrieves, upserts and deletes collections', async () => {
    const created = (await h.conn.sobject('Account').create([{ Name: 'A' }, { Name: 'B' }])) as SaveResult[];
    const ids = created.map((result) => result.id ?? '');
    const updated = (await h.conn.sobject('Account').update(ids.map((Id, index) => ({ Id, Phone: `555-000${index}` })))) as SaveResult[];
    expect(updated.map((result) => result.success)).toEqual([true, true]);
    const retrieved = await h.conn.sobject('Account').retrieve(ids, { fields: ['Name', 'Phone'] });
    expect(retrieved.map((row) => row?.Phone)).toEqual(['555-0000', '555-0001']);
    const viaGet = await h.http<Array<Record<string, unknown> | null>>('GET', `${base}/composite/sobjects/Account?ids=${ids[0]},001000000000000AAA&fields=Name`);
    expect(viaGet.body.map((row) => row?.Name ?? null)).toEqual(['A', null]);

    const upserted = (await h.conn.sobject('Account').upsert(
      [
        { Customer_Key__c: 'K-1', Name: 'Keyed one' },
        { Customer_Key__c: 'K-2', Name: 'Keyed two' },
      ],
      'Customer_Key__c',
    )) as SaveResult[];
    expect(upserted.map((result) => result.created)).toEqual([true, true]);
    const again = (await h.conn.sobject('Account').upsert([{ Customer_Key__c: 'k-1', Name: 'Keyed one v2' }], 'Customer_Key__c')) as SaveResult[];
    expect(again[0]).toMatchObject({ id: upserted[0]?.id, success: true, created: false });

    const deleted = (await h.conn.sobject('Account').destroy(ids)) as SaveResult[];
    expect(deleted).toEqual(ids.map((id) => ({ id, success: true, errors: [] })));
    expect((await h.conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(2);
  });

  it('runs /composite subrequests in order with @{reference} substitution, as one API request', async () => {
    const body = {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${base}/sobjects/Account`, referenceId: 'newAccount', body: { Name: 'Composite Co' } },
        { method: 'POST', url: `${base}/sobjects/Opportunity`, referenceId: 'newOpp', body: opportunity({ AccountId: '@{newAccount.id}' }) },
        { method: 'GET', url: `${base}/query?q=SELECT+Id,Account.Name+FROM+Opportunity+WHERE+Id='@{newOpp.id}'`, referenceId: 'readBack' },
      ],
    };
    const response = await h.conn.requestPost<{ compositeResponse: Array<{ httpStatusCode: number; referenceId: string; body: Record<string, unknown>; httpHeaders: Record<string, string> }> }>(
      '/composite',
      body,
    );
    expect(response.compositeResponse.map((sub) => sub.httpStatusCode)).toEqual([201, 201, 200]);
    expect(response.compositeResponse[0]?.httpHeaders.Location).toMatch(/\/sobjects\/Account\/001/);
    const readBack = response.compositeResponse[2]?.body as { records: Array<{ Account: { Name: string } }> };
    expect(readBack.records[0]?.Account.Name).toBe('Composite Co');
    const counts = await h.control<{ total: number }>('GET', '/_sandbox/requests');
    expect(counts.body.total).toBe(1);
  });

  it('rolls a failed allOrNone /composite back and marks the others PROCESSING_HALTED', async () => {
    const response = await h.http<{ compositeResponse: Array<{ httpStatusCode: number; body: Array<{ errorCode: string }> }> }>('POST', `${base}/composite`, {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${base}/sobjects/Account`, referenceId: 'ok', body: { Name: 'Rolled back' } },
        { method: 'POST', url: `${base}/sobjects/Account`, referenceId: 'bad', body: { Nope: 1 } },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body.compositeResponse.map((sub) => [sub.httpStatusCode, sub.body[0]?.errorCode])).toEqual([
      [400, 'PROCESSING_HALTED'],
      [400, 'INVALID_FIELD'],
    ]);
    expect((await h.conn.query('SELECT COUNT() FROM Account')).totalSize).toBe(0);
    const unknownRoute = await expectJsforceError(h.conn.requestPost('/composite', { compositeRequest: [] }));
    expect(unknownRoute.errorCode).toBe('JSON_PARSER_ERROR');
  });
});
