import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectFailure, startHarness, type SandboxHarness } from './helpers.ts';

interface Opportunity {
  name: string;
  statecode: number;
  statuscode: number;
  actualvalue: number | null;
  actualclosedate: string | null;
}

let h: SandboxHarness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());
beforeEach(async () => {
  await h.control('DELETE', '/_sandbox/data');
});

describe('WinOpportunity / LoseOpportunity', () => {
  it('wins an opportunity, records the close activity, makes it read-only, and allows reopening', async () => {
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'Win me', estimatedvalue: 5000 } });
    await h.api.callAction({
      actionName: 'WinOpportunity',
      action: { Status: 3, OpportunityClose: { subject: 'Won!', actualrevenue: 4800, actualend: '2026-11-30', 'opportunityid@odata.bind': `/opportunities(${id})` } },
    });
    const won = await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id });
    expect([won.statecode, won.statuscode]).toEqual([1, 3]);
    expect(won.actualvalue).toBe(4800);
    expect(won.actualclosedate).toBe('2026-11-30');
    const closes = await h.api.retrieveMultiple<{ subject: string; statecode: number }>({ collection: 'opportunitycloses', filter: `_opportunityid_value eq ${id}` });
    expect(closes.value.map((row) => [row.subject, row.statecode])).toEqual([['Won!', 1]]);

    const readOnly = await expectFailure(h.api.update({ collection: 'opportunities', key: id, data: { name: 'changed after win' } }));
    expect(readOnly.status).toBe(400);
    expect(readOnly.message).toContain('read-only');
    expect((await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id })).name).toBe('Win me');

    await h.api.update({ collection: 'opportunities', key: id, data: { statecode: 0, statuscode: 1 } });
    await h.api.update({ collection: 'opportunities', key: id, data: { name: 'changed after reopen' } });
    const reopened = await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id });
    expect([reopened.statecode, reopened.statuscode, reopened.name]).toEqual([0, 1, 'changed after reopen']);
  });

  it('loses with a Lost status and rejects a status of the wrong state or a second close', async () => {
    const id: string = await h.api.create({ collection: 'opportunities', data: { name: 'Lose me' } });
    const wrongStatus = await expectFailure(h.api.callAction({ actionName: 'LoseOpportunity', action: { Status: 3, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${id})` } } }));
    expect(wrongStatus.status).toBe(400);
    await h.api.callAction({ actionName: 'LoseOpportunity', action: { Status: 5, OpportunityClose: { subject: 'Lost to competitor', 'opportunityid@odata.bind': `${h.sandbox.url}/api/data/v9.0/opportunities(${id})` } } });
    const lost = await h.api.retrieve<Opportunity>({ collection: 'opportunities', key: id });
    expect([lost.statecode, lost.statuscode]).toEqual([2, 5]);
    const again = await expectFailure(h.api.callAction({ actionName: 'WinOpportunity', action: { Status: 3, OpportunityClose: { 'opportunityid@odata.bind': `/opportunities(${id})` } } }));
    expect(again.status).toBe(400);
  });
});

describe('$batch', () => {
  it('runs a change set with Content-ID references and a GET outside it', async () => {
    h.api.startBatch();
    void h.api.create({ collection: 'accounts', data: { name: 'Batch Co' }, contentId: '1' });
    void h.api.create({ collection: 'opportunities', data: { name: 'Batch deal', 'customerid_account@odata.bind': '$1', 'parentaccountid@odata.bind': '$1' } });
    void h.api.retrieveMultiple({ collection: 'accounts', select: ['name'] });
    const results = await h.api.executeBatch();
    expect(results).toHaveLength(3);
    const [accountId, opportunityId, accounts] = results as [string, string, { value: Array<{ name: string }> }];
    expect(accountId).toMatch(/^[0-9a-f-]{36}$/);
    expect(accounts.value.map((row) => row.name)).toEqual(['Batch Co']);
    const opportunity = await h.api.retrieve<{ _customerid_value: string }>({ collection: 'opportunities', key: opportunityId });
    expect(opportunity._customerid_value).toBe(accountId);
  });

  it('rolls the whole change set back when a request in the middle fails, and stops the batch', async () => {
    const before = await h.api.count({ collection: 'accounts' });
    h.api.startBatch();
    void h.api.create({ collection: 'accounts', data: { name: 'First, rolled back' } });
    void h.api.create({ collection: 'accounts', data: { name: 'x'.repeat(500) } });
    void h.api.create({ collection: 'accounts', data: { name: 'Third, never runs' } });
    let failure: unknown;
    try {
      await h.api.executeBatch();
    } catch (error) {
      failure = error;
    }
    expect(Array.isArray(failure)).toBe(true);
    const [error] = failure as Array<{ status: number; error: { code: string } }>;
    expect(error?.status).toBe(400);
    expect(error?.error.code).toBe('0x80044331');
    expect(await h.api.count({ collection: 'accounts' })).toBe(before);
  });

  it('keeps going with odata.continue-on-error outside change sets', async () => {
    h.api.startBatch();
    void h.api.create({ collection: 'accounts', data: { name: 'x'.repeat(500) }, inChangeSet: false });
    void h.api.create({ collection: 'accounts', data: { name: 'Survivor' }, inChangeSet: false });
    const results = await h.api.executeBatch({ continueOnError: true });
    expect(results).toHaveLength(2);
    expect((results[0] as { status: number }).status).toBe(400);
    expect(results[1]).toMatch(/^[0-9a-f-]{36}$/);
    const accounts = await h.api.retrieveMultiple<{ name: string }>({ collection: 'accounts', select: ['name'] });
    expect(accounts.value.map((row) => row.name)).toEqual(['Survivor']);
  });

  it('rejects a Content-ID reference that does not exist in the change set', async () => {
    h.api.startBatch();
    void h.api.create({ collection: 'opportunities', data: { name: 'dangling', 'parentaccountid@odata.bind': '$7' } });
    const failure = await expectFailure(h.api.executeBatch());
    expect(failure.message).toContain("Content-ID Reference: '$7' does not exist in the batch context.");
  });
});
