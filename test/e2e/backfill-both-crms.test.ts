import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DualCrmHarness } from '../support/dual-crm-harness.ts';
import { json, sendJson, type RequestCounts } from '../support/service-harness.ts';

/**
 * A first pass over a Partner Center that already holds hundreds of referrals, with Dynamics 365 and Salesforce both
 * connected: every referral is created and linked in both CRMs through their bulk APIs (Dataverse `$batch`, Salesforce
 * sObject Collections), the "CRM ID" written once per referral, and the call counts stay bounded per batch, not per
 * referral. A second pass with nothing new costs listing pages only.
 */
describe('backfill into both CRMs', () => {
  let h: DualCrmHarness;
  const COUNT = 450;

  beforeAll(async () => {
    h = await DualCrmHarness.start({ runEngine: false });
    await json(`${h.pc.url}/_sandbox/referrals/seed`, sendJson('POST', { count: COUNT, events: false, microsoftSide: false }));
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  const reset = () => Promise.all([h.pc.url, h.dv.url, h.sf.url].map((url) => json(`${url}/_sandbox/requests`, { method: 'DELETE' })));
  const counts = async (): Promise<[RequestCounts, RequestCounts, RequestCounts]> => {
    const [pc, dv, sf] = await Promise.all([h.pc.url, h.dv.url, h.sf.url].map((url) => json<RequestCounts>(`${url}/_sandbox/requests`)));
    if (!pc || !dv || !sf) throw new Error('a sandbox did not answer its request counts');
    return [pc, dv, sf];
  };
  const runUntilIdle = async () => {
    h.engine.worker.start();
    try {
      await h.waitForIdle(120_000);
    } finally {
      await h.engine.worker.stop();
    }
  };

  it('links every referral in both CRMs with a few calls per batch, then a quiet pass costs listing pages only', async () => {
    await reset();
    const report = await h.engine.reconciler.runOnce({ since: '2000-01-01T00:00:00Z' });
    expect(report.referrals).toBe(COUNT);
    // `cosell status` shows the pass: every referral listed, created in bulk in both CRMs, none left to a job.
    expect((await h.status()).reconcile).toMatchObject({ running: false, referrals: COUNT, backfilled: 2 * COUNT, queued: 0 });
    await runUntilIdle();
    const [pc, dv, sf] = await counts();
    console.info(`backfill of ${COUNT}: Partner Center ${JSON.stringify(pc.routes)}; Dataverse ${JSON.stringify(dv.routes)}; Salesforce ${JSON.stringify(sf.routes)}`);

    const dvIds = new Set((await h.dvOpportunities()).map((o) => o.cosell_referralidentifier));
    const sfIds = new Set((await h.sfOpportunities()).map((o) => o.Referral_Identifier__c));
    const referrals = (await h.referrals()).filter((r) => r.direction === 'Incoming');
    expect(referrals).toHaveLength(COUNT);
    for (const r of referrals) {
      expect(dvIds.has(r.id)).toBe(true);
      expect(sfIds.has(r.id)).toBe(true);
    }
    // "CRM ID" is the Dynamics opportunity (the first connection configured owns it), written once per referral.
    const dvByReferral = new Map((await h.dvOpportunities()).map((o) => [o.cosell_referralidentifier, o.opportunityid]));
    for (const r of referrals) expect(String(r.externalReferenceId)).toBe(dvByReferral.get(r.id));
    expect(pc.routes['PATCH /v1.0/engagements/referrals/:id']).toBe(COUNT);
    // Partner Center: the write plus listing pages (100 per page). The echoes of that write (its referral-updated
    // webhook, one job per connection) are recognised without reading the referral: the PATCH answered the version it
    // made, the link holds its eTag and the webhook's change time is not after it (see own-writes.ts).
    expect(pc.routes['GET /v1.0/engagements/referrals/:id'] ?? 0).toBeLessThanOrEqual(Math.ceil(COUNT / 50));
    expect(pc.routes['GET /v1.0/engagements/referrals'] ?? 0).toBeLessThanOrEqual(2 * Math.ceil(COUNT / 100) + 2);
    // Dataverse: per batch of 200 a lookup and a $batch for the opportunities, and a few customer queries and creates.
    expect(dv.routes['POST /api/data/v9.2/$batch'] ?? 0).toBeGreaterThan(0);
    expect(dv.routes['PATCH /api/data/v9.2/opportunities(*'] ?? 0).toBe(0);
    expect(dv.routes['GET /api/data/v9.2/opportunities(*'] ?? 0).toBe(0);
    expect(dv.total).toBeLessThanOrEqual(Math.ceil(COUNT / 100) * 8);
    expect(sf.total).toBeLessThanOrEqual(Math.ceil(COUNT / 100) * 8);

    await reset();
    await h.engine.reconciler.runOnce({ since: '2000-01-01T00:00:00Z' });
    await runUntilIdle();
    const [pcQuiet, dvQuiet, sfQuiet] = await counts();
    expect(pcQuiet.routes).toEqual({ 'GET /v1.0/engagements/referrals': Math.ceil(COUNT / 100) });
    expect(dvQuiet.total).toBeLessThanOrEqual(4);
    expect(sfQuiet.total).toBeLessThanOrEqual(4);
    const status = await h.status();
    expect(status).toMatchObject({ deadLetters: 0, queueDepth: 0 });
  }, 120_000);

  it("a Microsoft edit made right after the backfill's own write still reaches both CRMs; the other echoes cost no read", async () => {
    const before = new Set((await h.referrals()).map((r) => String(r.id)));
    await json(`${h.pc.url}/_sandbox/referrals/seed`, sendJson('POST', { count: 3, events: false, microsoftSide: false }));
    const added = (await h.referrals()).map((r) => String(r.id)).filter((id) => !before.has(id));
    expect(added).toHaveLength(3);
    const [edited] = added;
    await reset();
    await h.engine.reconciler.runOnce({ since: '2000-01-01T00:00:00Z' });
    // The backfill wrote "CRM ID" (its echoes are delivered, their jobs wait); then a Microsoft seller edits one of
    // the referrals: its webhook joins the echo's job, which must read the referral and sync the edit.
    await h.waitForWebhooks();
    await h.pcSellerEdit(String(edited), { name: 'Renamed by Microsoft after the backfill' });
    await h.waitForWebhooks();
    await runUntilIdle();
    const [pc] = await counts();
    expect(pc.routes['PATCH /v1.0/engagements/referrals/:id']).toBe(3);
    // The edited referral's jobs read it (both connections' jobs may share the read); the two echoes alone read nothing.
    expect(pc.routes['GET /v1.0/engagements/referrals/:id']).toBeGreaterThanOrEqual(1);
    expect(pc.routes['GET /v1.0/engagements/referrals/:id']).toBeLessThanOrEqual(2);
    expect((await h.dvOpportunities()).find((o) => o.cosell_referralidentifier === edited)?.name).toMatch(/^Renamed by Microsoft after the backfill/);
    expect((await h.sfOpportunities()).find((o) => o.Referral_Identifier__c === edited)?.Name).toMatch(/^Renamed by Microsoft after the backfill/);
  }, 60_000);
});
