import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailsOf, sleep } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';

/*
 * newest-wins when Dataverse's whole-second modifiedon cannot order two edits: a Microsoft seller edits the notes,
 * a Dynamics seller edits them 150 ms later within the same second. The Dynamics edit is the newer one and must win;
 * its notification's arrival places it within its second.
 */

describe('newest-wins within one second of Dataverse time', () => {
  let h: SyncHarness;

  beforeAll(async () => {
    h = await SyncHarness.start({ runEngine: false });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('a Dynamics edit 150 ms after a Partner Center edit wins', async () => {
    const { referralId, opportunityId } = await h.linkedPair({ name: 'Same second deal', status: 'Active', customerProfile: { name: 'Second Corp', address: { postalCode: '61000' } } });

    // Both edits inside one wall-clock second, so Dataverse stamps the later one with the earlier whole second.
    while (Date.now() % 1000 > 100) await sleep(5);
    await h.pcSellerEdit(referralId, { details: { notes: 'Partner Center, first' } });
    await sleep(150);
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Dynamics, 150 ms later' });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();

    expect(detailsOf(await h.referral(referralId)).notes).toBe('Dynamics, 150 ms later');
    expect((await h.opportunity(opportunityId))?.description).toBe('Dynamics, 150 ms later');
  });
});
