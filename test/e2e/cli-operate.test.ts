import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminFetch } from '../support/admin.ts';
import { runCli } from '../support/cli.ts';
import { writeManualNotesMapping } from '../support/manual-notes-mapping.ts';
import { detailsOf, waitFor } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { makeTempDir } from '../support/tmp.ts';

/** Each case launches the CLI about ten times; through tsx that is 2–3 s a launch on a busy 2-core machine. */
const CLI_CASE_TIMEOUT_MS = 90_000;

/*
 * The operator's view through the real `cosell` binary against a running service: dead letters listed and replayed
 * once the cause is fixed, held conflicts listed with both values. The engine is driven by the test so that both
 * sellers' edits are in before the service looks.
 */

describe('cosell dead-letters and cosell conflicts', () => {
  const tmp = makeTempDir();
  let h: SyncHarness;
  const cli = (...args: string[]) => runCli([...args, '--service-url', h.adminUrl]);

  beforeAll(async () => {
    h = await SyncHarness.start({ runEngine: false, mappingFile: writeManualNotesMapping(tmp.path) });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    tmp.cleanup();
  });

  const linked = (name: string) => h.linkedPair({ name, customerProfile: { name: `${name} Customer`, address: { postalCode: '61000' } } });

  it('lists a sync Dataverse rejected, and replays it once the cause is gone', async () => {
    const { referralId, opportunityId } = await linked('Rejected deal');
    expect((await cli('dead-letters')).stdout).toContain('No dead letters.');

    // Dataverse rejects every opportunity call as invalid (400): not retryable, so the sync becomes a dead letter.
    await h.dvFaults({ errorStatus: 400, routes: ['/api/data/v9.2/opportunities'] });
    await h.pcSellerEdit(referralId, { details: { dealValue: 77_000 } });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const listed = await cli('dead-letters');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`referral ${referralId}`);
    expect(listed.stdout).toMatch(/400/);
    const [deadLetter] = JSON.parse((await cli('dead-letters', '--json')).stdout) as Array<{ id: number; referralId: string }>;
    expect(deadLetter?.referralId).toBe(referralId);

    // The console's overview lists the same dead letter, and its replay button posts to the route used below.
    const overview = await (await adminFetch(`${h.adminUrl}/`)).text();
    expect(overview).toContain('<h2>Dead letters</h2>');
    expect(overview).toContain(`data-post="/api/dead-letters/${deadLetter?.id}/replay"`);

    await h.clearDvFaults();
    const replayed = await cli('dead-letters', 'replay', String(deadLetter?.id));
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain(`#${deadLetter?.id} queued again`);
    await h.runWorkerUntilIdle();
    expect((await h.opportunity(opportunityId))?.estimatedvalue).toBe(77_000);
    expect((await cli('dead-letters')).stdout).toContain('No dead letters.');
    expect((await cli('dead-letters', '--all')).stdout).toContain(`replayed`);

    // The console's pair page keeps the replayed dead letter in its history.
    const pairPage = await (await adminFetch(`${h.adminUrl}/deals/dynamics/${referralId}`)).text();
    expect(pairPage).toContain('<h2>Dead letters</h2>');
    expect(pairPage).toMatch(/replayed <time/);

    // Replaying it twice, or an id that does not exist, is the operator's mistake: exit code 2 and why.
    const again = await cli('dead-letters', 'replay', String(deadLetter?.id));
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`no open dead letter ${deadLetter?.id}`);
    expect((await cli('dead-letters', 'replay', 'abc')).code).toBe(2);
  }, CLI_CASE_TIMEOUT_MS);

  it('lists a held conflict with the base and both values until the sides agree', async () => {
    expect((await cli('conflicts')).stdout).toContain('No held conflicts.');
    const { referralId, opportunityId } = await linked('Disputed deal');
    await h.pcSellerEdit(referralId, { details: { notes: 'Microsoft: wait for the budget' } });
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Seller: signed today' });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();

    const held = await cli('conflicts');
    expect(held.code, held.stderr).toBe(0);
    expect(held.stdout).toContain(`referral ${referralId}  notes`);
    expect(held.stdout).toContain('Partner Center "Microsoft: wait for the budget"');
    expect(held.stdout).toContain('CRM "Seller: signed today"');
    expect((await cli('status')).stdout).toMatch(/Held conflicts:\s+1 {2}\(cosell conflicts\)/);
    // The console lists it from the same store, with a button per side posting to the resolve route.
    const page = await (await adminFetch(`${h.adminUrl}/`)).text();
    const [conflict] = JSON.parse((await cli('conflicts', '--json')).stdout) as Array<{ id: number }>;
    expect(page).toContain(`data-post="/api/conflicts/${conflict?.id}/resolve" data-body="{&quot;take&quot;:&quot;partner-center&quot;}"`);
    expect(page).toContain(`data-post="/api/conflicts/${conflict?.id}/resolve" data-body="{&quot;take&quot;:&quot;crm&quot;}"`);

    await h.pcSellerEdit(referralId, { details: { notes: 'Seller: signed today' } });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    expect(detailsOf(await h.referral(referralId)).notes).toBe('Seller: signed today');
    await waitFor('the conflict to be released', async () => (await cli('conflicts')).stdout.includes('No held conflicts.'));
  }, CLI_CASE_TIMEOUT_MS);
});
