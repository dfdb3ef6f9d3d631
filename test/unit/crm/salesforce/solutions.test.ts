import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupSalesforce } from '../../../../src/crm/salesforce/provisioning.ts';
import { UnknownSolutionError } from '../../../../src/crm/solutions.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { sellerOpportunity, startHarness, type Harness, type Row } from './helpers.ts';

describe('Microsoft Solutions through the Salesforce connector against the Salesforce sandbox', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await setupSalesforce({ connector: h.connector, logger: silentLogger() });
  });
  afterAll(async () => h.close());

  const opportunity = async (name: string): Promise<{ entity: 'opportunity'; id: string }> => {
    const created = await h.control<Row>('POST', '/_sandbox/records/Opportunity', sellerOpportunity({ Name: name }));
    expect(created.status).toBe(201);
    return { entity: 'opportunity', id: String(created.body.Id) };
  };

  it('fails with a clear message before setup created the objects', async () => {
    const fresh = await startHarness();
    try {
      await expect(fresh.connector.solutions.list()).rejects.toThrow(/cosell setup salesforce/);
    } finally {
      await fresh.close();
    }
  });

  it('setup creates the catalogue and junction objects once; the junction hangs off Opportunity as "Microsoft Solutions"', async () => {
    const second = await setupSalesforce({ connector: h.connector, logger: silentLogger() });
    expect(second.created).toEqual([]);
    expect(second.found).toEqual(
      expect.arrayContaining([
        'object Microsoft_Solution__c',
        'field Microsoft_Solution__c.Solution_Id__c',
        'object Opportunity_Microsoft_Solution__c',
        'field Opportunity_Microsoft_Solution__c.Opportunity__c',
        'field Opportunity_Microsoft_Solution__c.Microsoft_Solution__c',
      ]),
    );
    const junction = await h.connector.metadata.describe('Opportunity_Microsoft_Solution__c');
    expect(junction.field('Opportunity__c')).toMatchObject({ type: 'reference', referenceTo: ['Opportunity'], nillable: false });
  });

  it('upserts the catalogue by solution id in one collection call and leaves equal rows alone', async () => {
    const progress: Array<[number, number]> = [];
    const first = await h.connector.solutions.upsert(
      [
        { solutionId: 'SOL-2', name: 'Contoso Analytics', coSellReady: true },
        { solutionId: 'SOL-1', name: 'Contoso Migrate', coSellReady: false },
      ],
      (done, total) => progress.push([done, total]),
    );
    expect(first).toEqual({ created: ['SOL-2', 'SOL-1'], updated: [], unchanged: [] });
    expect(progress).toEqual([
      [0, 2],
      [2, 2],
    ]);
    expect(await h.connector.solutions.list()).toEqual([
      { solutionId: 'SOL-1', name: 'Contoso Migrate', coSellReady: false },
      { solutionId: 'SOL-2', name: 'Contoso Analytics', coSellReady: true },
    ]);
    const second = await h.connector.solutions.upsert([
      { solutionId: 'sol-1', name: 'Contoso Migrate', coSellReady: true },
      { solutionId: 'SOL-2', name: 'Contoso Analytics', coSellReady: true },
    ]);
    expect(second).toEqual({ created: [], updated: ['sol-1'], unchanged: ['SOL-2'] });
    expect((await h.records('Microsoft_Solution__c')).length).toBe(2);
  });

  it('writes and reads a deal’s chosen solutions as junction rows', async () => {
    const ref = await opportunity('Co-sell deal');
    expect(await h.connector.solutions.readDealSolutions(ref)).toEqual([]);
    expect(await h.connector.solutions.writeDealSolutions(ref, ['SOL-2', 'sol-1'])).toEqual({ added: ['SOL-2', 'SOL-1'], removed: [] });
    expect(await h.connector.solutions.readDealSolutions(ref)).toEqual(['SOL-1', 'SOL-2']);
    expect(await h.connector.solutions.writeDealSolutions(ref, ['SOL-2'])).toEqual({ added: [], removed: ['SOL-1'] });
    expect(await h.connector.solutions.readDealSolutions(ref)).toEqual(['SOL-2']);
    const junctions = (await h.records('Opportunity_Microsoft_Solution__c')).filter((row) => row.Opportunity__c === ref.id);
    expect(junctions).toHaveLength(1);
  });

  it('refuses a solution id the catalogue does not hold and writes nothing', async () => {
    const ref = await opportunity('Unknown solution');
    const failure = h.connector.solutions.writeDealSolutions(ref, ['SOL-1', 'SOL-404']);
    await expect(failure).rejects.toBeInstanceOf(UnknownSolutionError);
    await expect(failure).rejects.toThrow(/SOL-404/);
    expect(await h.connector.solutions.readDealSolutions(ref)).toEqual([]);
  });

  it('deleting the opportunity deletes its junction rows (master-detail)', async () => {
    const ref = await opportunity('Deleted deal');
    await h.connector.solutions.writeDealSolutions(ref, ['SOL-1']);
    const before = (await h.records('Opportunity_Microsoft_Solution__c')).filter((row) => row.Opportunity__c === ref.id && row.IsDeleted !== true);
    expect(before).toHaveLength(1);
    await h.connector.client.send({ method: 'DELETE', path: `/sobjects/Opportunity/${ref.id}`, route: 'sobjects/Opportunity/{id}' });
    const after = await h.connector.client.query(`SELECT Id FROM Opportunity_Microsoft_Solution__c WHERE Opportunity__c = '${ref.id}'`, { route: 'junction' });
    expect(after).toEqual([]);
  });
});
