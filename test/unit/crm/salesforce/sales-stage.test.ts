import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnRequest } from '../../../../src/crm/connector.ts';
import { setupSalesforce } from '../../../../src/crm/salesforce/provisioning.ts';
import type { SalesforceConnector } from '../../../../src/crm/salesforce/salesforce-connector.ts';
import { silentLogger } from '../../../../src/util/logger.ts';
import { startHarness, type Harness } from './helpers.ts';

const COLUMNS: ColumnRequest[] = [{ name: 'Name' }, { name: '@state' }, { name: '@salesStage' }];

/* The virtual @salesStage column: Partner Center's percentage ⇄ StageName by the org's stages' DefaultProbability. */
describe('SalesforceConnector: @salesStage', () => {
  let h: Harness;
  let fast: SalesforceConnector;
  let sequence = 0;

  beforeAll(async () => {
    h = await startHarness();
    await setupSalesforce({ connector: h.connector, logger: silentLogger() });
    fast = await h.connect({}, { sameSecondSettleMs: 0 });
  });
  afterAll(async () => h.close());

  const create = (values: Record<string, unknown>) =>
    fast.createForReferral('opportunity', `stage-${Date.now()}-${sequence++}`, { Name: 'Stage test', CloseDate: '2027-01-31', ...values }, undefined, COLUMNS);
  const stageOf = async (id: string) => (await h.record('Opportunity', id))?.StageName;

  it('is offered by describe() with the percentages as options', async () => {
    const described = await fast.describe(['opportunity']);
    expect(described.opportunity?.columns['@salesStage']).toMatchObject({ type: 'virtual', options: [10, 20, 40, 60, 80] });
  });

  it('an accepted record starts at its sales stage and reads back the same percentage', async () => {
    const created = await create({ '@state': 'open', '@salesStage': 40 });
    expect(await stageOf(created.ref.id)).toBe('Value Proposition');
    expect(created.values['@salesStage']).toBe(40);
  });

  it('never moves a record out of the on-hold stage, and reads none there', async () => {
    const created = await create({ '@state': 'onhold', '@salesStage': 40 });
    expect(await stageOf(created.ref.id)).toBe('Prospecting');
    expect(created.values).not.toHaveProperty('@salesStage');
    await fast.update(created.ref, { '@salesStage': 60 }, created.version);
    expect(await stageOf(created.ref.id)).toBe('Prospecting');
    // With the acceptance in the same write, the sales stage picks the open stage.
    const current = await fast.read(created.ref, COLUMNS);
    await fast.update(created.ref, { '@state': 'open', '@salesStage': 60 }, current?.version ?? null);
    expect(await stageOf(created.ref.id)).toBe('Id. Decision Makers');
  });

  it('keeps a stage of the same percentage and reads the bucket of its probability', async () => {
    const created = await create({ '@state': 'open' });
    await h.control('PATCH', `/_sandbox/records/Opportunity/${created.ref.id}`, { StageName: 'Proposal/Price Quote' });
    const read = await fast.read(created.ref, COLUMNS);
    expect(read?.values['@salesStage']).toBe(60);
    await fast.update(created.ref, { '@salesStage': 60 }, read?.version ?? null);
    expect(await stageOf(created.ref.id)).toBe('Proposal/Price Quote');
  });

  it('says which stages only follow the referral’s state: on-hold and the active stage, not a seller’s stage or a closed one', async () => {
    const onHold = await create({ '@state': 'onhold' });
    expect(onHold.stateDefaultColumns).toEqual(['@salesStage']);
    const accepted = await create({ '@state': 'open' });
    expect(await stageOf(accepted.ref.id)).toBe('Qualification');
    expect(accepted.stateDefaultColumns).toEqual(['@salesStage']);
    const moved = await create({ '@state': 'open', '@salesStage': 20 });
    expect(await stageOf(moved.ref.id)).toBe('Needs Analysis');
    expect(moved.stateDefaultColumns).toBeUndefined();
    expect((await create({ '@state': 'won' })).stateDefaultColumns).toBeUndefined();
  });

  it('reads no sales stage on a closed record and refuses a value that is not a percentage', async () => {
    const won = await create({ '@state': 'won' });
    expect(won.values).not.toHaveProperty('@salesStage');
    const open = await create({ '@state': 'open' });
    await expect(fast.update(open.ref, { '@salesStage': 'Qualified' }, open.version)).rejects.toThrow(/@salesStage must be one of/);
  });
});
