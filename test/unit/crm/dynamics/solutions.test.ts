import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupDynamics } from '../../../../src/crm/dynamics/provisioning.ts';
import { UnknownSolutionError } from '../../../../src/crm/solutions.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { startHarness, type Harness } from './helpers.ts';

describe('Microsoft Solutions through the Dynamics connector against the Dataverse sandbox', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await setupDynamics({ connector: h.connector, logger: silentLogger() });
  });
  afterAll(async () => {
    await h.close();
  });

  it('fails with a clear message before setup created the table', async () => {
    const fresh = await startHarness();
    try {
      await expect(fresh.connector.solutions.list()).rejects.toThrow(/cosell setup dynamics/);
    } finally {
      await fresh.close();
    }
  });

  it('upserts the catalogue by solution id, reports what changed and leaves equal rows alone', async () => {
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

    h.calls.length = 0;
    const second = await h.connector.solutions.upsert([
      { solutionId: 'sol-1', name: 'Contoso Migrate', coSellReady: true },
      { solutionId: 'SOL-2', name: 'Contoso Analytics', coSellReady: true },
    ]);
    expect(second).toEqual({ created: [], updated: ['sol-1'], unchanged: ['SOL-2'] });
    expect(h.calls.filter((call) => call.method !== 'GET').map((call) => `${call.method} ${call.route}`)).toEqual(['POST $batch']);
    // Matched case-insensitively by the alternate key: still two rows.
    expect((await h.connector.solutions.list()).map((solution) => [solution.solutionId, solution.coSellReady])).toEqual([
      ['SOL-1', true],
      ['SOL-2', true],
    ]);
  });

  it('writes a batch all or nothing: one row Dataverse refuses leaves the whole change set unwritten', async () => {
    const rows = [
      { solutionId: 'SOL-A', name: 'Fine', coSellReady: true },
      { solutionId: 'SOL-B', name: 'x'.repeat(201), coSellReady: true },
    ];
    await expect(h.connector.solutions.upsert(rows)).rejects.toMatchObject({ status: 400, retryable: false });
    expect((await h.connector.solutions.list()).map((solution) => solution.solutionId)).toEqual(['SOL-1', 'SOL-2']);
  });

  it('writes and reads a deal’s chosen solutions through the N:N relationship', async () => {
    const created = await h.control<{ opportunityid: string }>('POST', '/_sandbox/records/opportunities', { name: 'Co-sell deal' });
    const ref = { entity: 'opportunity' as const, id: created.body.opportunityid };
    expect(await h.connector.solutions.readDealSolutions(ref)).toEqual([]);

    expect(await h.connector.solutions.writeDealSolutions(ref, ['SOL-2', 'sol-1'])).toEqual({ added: ['SOL-2', 'SOL-1'], removed: [] });
    expect(await h.connector.solutions.readDealSolutions(ref)).toEqual(['SOL-1', 'SOL-2']);

    expect(await h.connector.solutions.writeDealSolutions(ref, ['SOL-2'])).toEqual({ added: [], removed: ['SOL-1'] });
    expect(await h.connector.solutions.readDealSolutions(ref)).toEqual(['SOL-2']);

    h.calls.length = 0;
    expect(await h.connector.solutions.writeDealSolutions(ref, ['SOL-2'])).toEqual({ added: [], removed: [] });
    expect(h.calls.filter((call) => call.method !== 'GET')).toEqual([]);
  });

  it('refuses a solution id the catalogue does not hold and writes nothing', async () => {
    const created = await h.control<{ opportunityid: string }>('POST', '/_sandbox/records/opportunities', { name: 'Unknown solution' });
    const ref = { entity: 'opportunity' as const, id: created.body.opportunityid };
    const failure = h.connector.solutions.writeDealSolutions(ref, ['SOL-1', 'SOL-404']);
    await expect(failure).rejects.toBeInstanceOf(UnknownSolutionError);
    await expect(failure).rejects.toThrow(/SOL-404/);
    expect(await h.connector.solutions.readDealSolutions(ref)).toEqual([]);
  });
});
