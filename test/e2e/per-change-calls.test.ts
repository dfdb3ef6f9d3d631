import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DualCrmHarness } from '../support/dual-crm-harness.ts';
import { callsTo, countOneChange, linkedPair, type LinkedPair } from '../support/per-change.ts';
import { detailsOf, json, sendJson, waitFor, writes } from '../support/service-harness.ts';

/*
 * Issue 12: what one steady-state change of a linked pair costs, both CRMs connected, counted by the sandboxes'
 * request counters from the change until the service is idle (the echoes of our own writes included). Call counts,
 * not timings. `npm run bench:per-change` prints the same figures per route.
 */

const PC_REFERRAL = 'GET /v1.0/engagements/referrals/:id';
const PC_PATCH = 'PATCH /v1.0/engagements/referrals/:id';
const DV_READ = 'GET /api/data/v9.2/opportunities(*';
const DV_WRITE = 'PATCH /api/data/v9.2/opportunities(*';
const SF_WRITE = 'POST /services/data/:version/composite';

describe('vendor calls per change of a linked pair, both CRMs connected', () => {
  let h: DualCrmHarness;
  let pair: LinkedPair;

  beforeAll(async () => {
    h = await DualCrmHarness.start();
    await h.waitForIdle(60_000);
    // A private deal the partner has accepted: no Microsoft side, no solutions, every field open to edits.
    pair = await linkedPair(h, { type: 'Independent', status: 'Active', substatus: 'Accepted', target: [] });
    // One change first, so the pair is in its steady state (its last commit wrote Dataverse).
    await countOneChange(h, pair, 'partner-center', 0);
  }, 120_000);

  afterAll(async () => {
    await h?.close();
  });

  it('a Microsoft seller’s change: one referral read, and each CRM written without reading Dataverse first', async () => {
    const counts = await countOneChange(h, pair, 'partner-center', 1);
    expect(callsTo(counts.pc, PC_REFERRAL)).toBe(1);
    expect(callsTo(counts.pc, PC_PATCH)).toBe(0);
    // The record is as our last commit left it: If-Match on the stored version instead of a GET.
    expect(callsTo(counts.dv, DV_READ)).toBe(0);
    expect(callsTo(counts.dv, DV_WRITE)).toBe(1);
    expect(counts.dv.total).toBe(1);
    expect(callsTo(counts.sf, SF_WRITE)).toBe(1);
  }, 60_000);

  it('a seller’s edit the sync has not heard of is not lost: the blind write gets 412, and the re-read merges both edits', async () => {
    // Right after a Partner Center change: no foreign notification about the record since our last commit.
    await countOneChange(h, pair, 'partner-center', 2);
    await json(`${h.dv.url}/_sandbox/requests`, { method: 'DELETE' });
    // The seller's notification is lost: the stored version looks current, although the record moved on.
    await json(`${h.dv.url}/_sandbox/faults`, sendJson('POST', { delivery: { dropRate: 1 } }));
    await h.dvSellerEdit('opportunities', pair.dvId, { description: 'seller edit nobody announced' });
    await json(`${h.dv.url}/_sandbox/faults`, { method: 'DELETE' });
    await h.pcSellerEdit(pair.referralId, { details: { dealValue: 424_242 } });
    const record = await waitFor('the deal value in Dynamics', async () => (await h.dvOpportunities()).find((o) => o.opportunityid === pair.dvId && o.estimatedvalue === 424_242), 30_000);
    await h.waitForIdle(60_000);
    // Both edits stand: the seller's description in Dynamics and, through the merge, in Partner Center.
    expect(record.description).toBe('seller edit nobody announced');
    expect((await h.dvOpportunities()).find((o) => o.opportunityid === pair.dvId)?.description).toBe('seller edit nobody announced');
    await waitFor('the seller’s edit in Partner Center', async () => detailsOf(await h.referral(pair.referralId)).notes === 'seller edit nobody announced', 30_000);
    const dv = await json<{ routes: Record<string, number> }>(`${h.dv.url}/_sandbox/requests`);
    // The blind write (refused with 412), the read, and the write of the merge: the optimistic path was taken.
    expect(dv.routes[DV_WRITE]).toBe(2);
    expect(dv.routes[DV_READ] ?? 0).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('a Dynamics seller’s change: the echo of our Partner Center write costs no read on either connection', async () => {
    const counts = await countOneChange(h, pair, 'dynamics', 1);
    expect(callsTo(counts.pc, PC_PATCH)).toBe(1);
    // At most the Dynamics job's own read: the webhook of our PATCH is settled by the PATCH's answer (was 2 reads).
    expect(callsTo(counts.pc, PC_REFERRAL)).toBeLessThanOrEqual(1);
    expect(callsTo(counts.dv, DV_READ)).toBe(1);
    expect(writes(counts.dv.routes)).toBe(0);
    expect(callsTo(counts.sf, SF_WRITE)).toBe(1);
  }, 60_000);

  it('a Salesforce seller’s change: the echo of our Partner Center write costs no read on either connection', async () => {
    const counts = await countOneChange(h, pair, 'salesforce', 1);
    expect(callsTo(counts.pc, PC_PATCH)).toBe(1);
    expect(callsTo(counts.pc, PC_REFERRAL)).toBeLessThanOrEqual(1);
    expect(callsTo(counts.dv, DV_WRITE)).toBe(1);
    expect(callsTo(counts.dv, DV_READ)).toBeLessThanOrEqual(1);
    expect(callsTo(counts.sf, SF_WRITE)).toBe(0);
  }, 60_000);
});
