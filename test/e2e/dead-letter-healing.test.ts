import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { sendJson } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';

/*
 * A dead letter is a pair that failed for good at one moment. When the same pair later syncs (an operator's
 * `cosell sync referral`, the reconciler, a new event), the failure is over: the dead letter closes as resolved by
 * sync and stays in the history, and the dashboard's count goes back to zero.
 */

interface DeadLetterRow {
  id: number;
  referralId: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
}

describe('dead letters close when their pair later syncs', () => {
  let h: SyncHarness;
  const cli = (...args: string[]) => runCli([...args, '--service-url', h.adminUrl]);

  beforeAll(async () => {
    h = await SyncHarness.start({ runEngine: false });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('resolves the open dead letter of a pair that a later manual sync wrote', async () => {
    const referral = await h.incomingReferral({ name: 'Healing deal', customerProfile: { name: 'Healing Customer', address: { postalCode: '61000' } } });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const opportunity = await h.opportunityFor(referral.id);
    expect(opportunity).toBeDefined();

    await h.dvFaults({ errorStatus: 400, routes: ['/api/data/v9.2/opportunities'] });
    await h.pcSellerEdit(referral.id, { details: { dealValue: 55_000 } });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const [open] = await h.api<{ deadLetters: DeadLetterRow[] }>('/api/dead-letters').then((r) => r.deadLetters);
    expect(open).toMatchObject({ referralId: referral.id, resolvedAt: null, resolvedBy: null });
    expect((await h.status()).deadLetters).toBe(1);

    // The cause goes away and the pair syncs again without anyone replaying the dead letter.
    await h.clearDvFaults();
    await h.api(`/api/sync/referral/${referral.id}`, sendJson('POST', {}));
    await h.runWorkerUntilIdle();
    expect((await h.opportunity(String(opportunity?.opportunityid)))?.estimatedvalue).toBe(55_000);

    expect(await h.deadLetters()).toEqual([]);
    expect((await h.status()).deadLetters).toBe(0);
    const history = await h.api<{ deadLetters: DeadLetterRow[] }>('/api/dead-letters?open=false').then((r) => r.deadLetters);
    expect(history).toEqual([expect.objectContaining({ id: open?.id, resolvedBy: 'sync', resolvedAt: expect.any(String) })]);
    expect((await cli('dead-letters')).stdout).toContain('No dead letters.');
    const all = await cli('dead-letters', '--all');
    expect(all.stdout).toContain(`#${open?.id}`);
    expect(all.stdout).toContain('resolved by sync');
  });
});
