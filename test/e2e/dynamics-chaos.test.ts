import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detailsOf, reads, sleep, waitFor, writes } from '../support/service-harness.ts';
import { writeManualNotesMapping } from '../support/manual-notes-mapping.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { makeTempDir } from '../support/tmp.ts';
import { adminFetch } from '../support/admin.ts';

/*
 * Chaos on the sandboxes: webhooks duplicated, delayed, reordered and dropped; Partner Center answering 503 and 429;
 * both sides editing the same field before the service looks; records Partner Center would refuse. Every check waits
 * for an outcome (with a generous timeout that only bounds a hung run) and asserts on state, never on elapsed time.
 */

const SYNC_FAILED = 100_000_001;
const HELP_PROOF_OF_CONCEPT = 100_000_002;

describe('webhook chaos against the Dynamics 365 and Partner Center sandboxes', () => {
  let h: SyncHarness;
  /** Referral id → its opportunity id, for the pairs created in the first test. */
  const pairs = new Map<string, string>();

  beforeAll(async () => {
    h = await SyncHarness.start();
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('duplicated, delayed and reordered deliveries during a stream of seller changes converge to the latest state, with no duplicates', async () => {
    for (let i = 0; i < 4; i++) {
      const referral = await h.incomingReferral({
        name: `Chaos stream deal ${i}`,
        customerProfile: { name: `Chaos Stream Customer ${i}`, address: { postalCode: `1000${i}` } },
      });
      const opportunity = await waitFor(`opportunity for referral ${i}`, () => h.opportunityFor(referral.id));
      // Accepted, so the sellers' Dynamics edits below may reach Partner Center (an unanswered invitation takes none).
      await h.pcPartnerAccept(referral.id);
      pairs.set(referral.id, String(opportunity.opportunityid));
    }
    await h.waitForIdle();
    const referralsBefore = (await h.referrals()).length;

    // Both sandboxes duplicate half their deliveries, hold them 120 ms and send each held batch newest first.
    await h.pcFaults({ seed: 11, delivery: { duplicateRate: 0.5, delayMs: 120, reorder: true } });
    await h.dvFaults({ seed: 12, delivery: { duplicateRate: 0.5, delayMs: 120, reorder: true } });
    const latestDealValue = new Map<string, number>();
    const latestNotes = new Map<string, string>();
    for (let round = 1; round <= 10; round++) {
      let index = 0;
      for (const [referralId, opportunityId] of pairs) {
        const dealValue = 100_000 + round * 1_000 + index;
        await h.pcSellerEdit(referralId, { details: { dealValue } });
        latestDealValue.set(referralId, dealValue);
        if (round % 2 === 0) {
          const notes = `Round ${round}: seller note ${index}`;
          await h.dvSellerEdit('opportunities', opportunityId, { description: notes });
          latestNotes.set(referralId, notes);
        }
        index++;
      }
      await sleep(30);
    }

    for (const [referralId, opportunityId] of pairs) {
      await waitFor(`referral ${referralId} and its opportunity to converge`, async () => {
        const [referral, opportunity] = await Promise.all([h.referral(referralId), h.opportunity(opportunityId)]);
        return (
          detailsOf(referral).dealValue === latestDealValue.get(referralId) &&
          opportunity?.estimatedvalue === latestDealValue.get(referralId) &&
          opportunity?.description === latestNotes.get(referralId) &&
          detailsOf(referral).notes === latestNotes.get(referralId)
        );
      }, 30_000);
    }
    await h.waitForIdle();
    await h.clearFaults();

    // The faults really happened: duplicate copies went out and the service recognised them as redeliveries.
    const pcLog = await h.pcDeliveries();
    const dvLog = await h.dvDeliveries();
    expect(pcLog.value.filter((d) => d.duplicate).length).toBeGreaterThan(0);
    expect(dvLog.value.filter((d) => d.duplicate).length).toBeGreaterThan(0);
    const metrics = await (await adminFetch(`${h.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/cosell_webhook_requests_total\{source="partner-center",outcome="duplicate"\} [1-9]/);
    expect(metrics).toMatch(/cosell_webhook_requests_total\{source="dynamics",outcome="duplicate"\} [1-9]/);

    // Still the latest state on both sides once everything settled, one opportunity per referral, no new referral.
    for (const [referralId, opportunityId] of pairs) {
      const referral = await h.referral(referralId);
      const opportunities = await h.opportunitiesFor(referralId);
      expect(opportunities.map((o) => o.opportunityid)).toEqual([opportunityId]);
      expect(opportunities[0]?.estimatedvalue).toBe(latestDealValue.get(referralId));
      expect(opportunities[0]?.description).toBe(latestNotes.get(referralId));
      expect(detailsOf(referral).dealValue).toBe(latestDealValue.get(referralId));
      expect(detailsOf(referral).notes).toBe(latestNotes.get(referralId));
    }
    expect((await h.referrals()).length).toBe(referralsBefore);
    expect(await h.deadLetters()).toEqual([]);
  }, 90_000);

  it('a dropped Partner Center webhook is healed by a reconcile pass', async () => {
    const [referralId, opportunityId] = [...pairs][0]!;
    await h.pcFaults({ delivery: { dropRate: 1 } });
    await h.pcSellerEdit(referralId, { details: { dealValue: 424_242 } });
    const dropped = (await h.pcDeliveries()).value.filter((d) => d.status === 'dropped' && d.body.includes(referralId));
    expect(dropped.length).toBeGreaterThan(0);
    await h.clearPcFaults();
    await h.waitForIdle();
    // Nothing told the service: the opportunity still has the old value.
    expect((await h.opportunity(opportunityId))?.estimatedvalue).not.toBe(424_242);

    const report = await h.reconcile();
    expect(report.referrals).toBeGreaterThanOrEqual(1);
    await waitFor('the reconciled change on the opportunity', async () => (await h.opportunity(opportunityId))?.estimatedvalue === 424_242);
    const audit = await h.audit({ referralId });
    expect(audit.some((e) => e.field === 'dealValue' && e.cause === 'reconcile' && e.outcome === 'written' && e.newValue === 424_242)).toBe(true);
    await h.waitForIdle();
  });

  it('a dropped Dataverse webhook is healed by a reconcile pass (change tracking)', async () => {
    const [referralId, opportunityId] = [...pairs][1]!;
    // A pass first, so the change-tracking cursor stands before the change (the start-up pass normally sets it).
    await h.reconcile();
    await h.waitForIdle();
    await h.dvFaults({ delivery: { dropRate: 1 } });
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Edited while Dataverse lost the notification' });
    const dropped = (await h.dvDeliveries()).value.filter((d) => d.status === 'dropped' && d.body.includes(opportunityId));
    expect(dropped.length).toBeGreaterThan(0);
    await h.clearDvFaults();
    await h.waitForIdle();
    expect(detailsOf(await h.referral(referralId)).notes).not.toBe('Edited while Dataverse lost the notification');

    const report = await h.reconcile();
    expect(report.crm.dynamics).toBeGreaterThanOrEqual(1);
    await waitFor('the reconciled change in Partner Center', async () => detailsOf(await h.referral(referralId)).notes === 'Edited while Dataverse lost the notification');
    const audit = await h.audit({ referralId });
    expect(audit.some((e) => e.field === 'notes' && e.direction === 'to-pc' && e.cause === 'reconcile' && e.outcome === 'written')).toBe(true);
    await h.waitForIdle();
  });

  it('Partner Center 503s and 429s are retried until everything converges, with zero dead letters', async () => {
    // Every Referrals API call: 30 % answer 503, 20 % answer 429 with Retry-After: 1.
    await h.pcFaults({ seed: 5, errorRate: 0.3, errorStatus: 503, throttleRate: 0.2, retryAfterSeconds: 1, routes: ['/v1.0/engagements/referrals'] });
    const created: string[] = [];
    for (let i = 0; i < 2; i++) {
      created.push((await h.incomingReferral({ name: `Flaky API deal ${i}`, customerProfile: { name: `Flaky Customer ${i}`, address: { postalCode: `2000${i}` } } })).id);
    }
    const edits = [...pairs].slice(0, 3);
    for (const [index, [referralId, opportunityId]] of edits.entries()) {
      await h.pcSellerEdit(referralId, { details: { dealValue: 300_000 + index } });
      await h.dvSellerEdit('opportunities', opportunityId, { description: `Written through a flaky API ${index}` });
    }
    for (const referralId of created) {
      await waitFor(`opportunity for ${referralId} despite the faults`, () => h.opportunityFor(referralId), 60_000);
    }
    for (const [index, [referralId, opportunityId]] of edits.entries()) {
      await waitFor(`pair ${referralId} converged despite the faults`, async () => {
        const [referral, opportunity] = await Promise.all([h.referral(referralId), h.opportunity(opportunityId)]);
        return opportunity?.estimatedvalue === 300_000 + index && detailsOf(referral).notes === `Written through a flaky API ${index}`;
      }, 60_000);
    }
    await h.waitForIdle(60_000);
    await h.clearPcFaults();

    const calls = await h.apiCallsByStatus();
    expect(calls['referrals 503'] ?? 0).toBeGreaterThan(0);
    expect(calls['referrals 429'] ?? 0).toBeGreaterThan(0);
    expect(await h.deadLetters()).toEqual([]);
    expect((await h.status()).deadLetters).toBe(0);
    for (const referralId of created) expect(await h.opportunitiesFor(referralId)).toHaveLength(1);
  }, 120_000);

  it('an opportunity Partner Center would refuse (help requested, no customer contact) is not sent; the record says why', async () => {
    const referralsBefore = (await h.referrals()).length;
    // The deal names a Microsoft solution, so the missing contact is the one thing Partner Center would refuse.
    await h.dvImportSolutions([{ solutionId: 'SOL-34104-EBB', name: 'Cloud Migration Factory', coSellReady: true }]);
    const { opportunityId } = await h.dvCreateDeal({
      name: 'Help wanted without a contact',
      company: 'Contactless Corp',
      value: 50_000,
      sync: true,
      help: HELP_PROOF_OF_CONCEPT,
      contact: false,
      solutions: ['SOL-34104-EBB'],
    });
    const opportunity = await waitFor('the ✖ status on the opportunity', async () => {
      const o = await h.opportunity(opportunityId);
      return o?.cosell_syncstatus === SYNC_FAILED ? o : undefined;
    });
    await h.waitForIdle();
    expect(String(opportunity.name)).toMatch(/ ✖$/);
    expect(String(opportunity.cosell_audit)).toContain('a customer contact is required when Microsoft help is requested');
    const audit = await h.audit({ crmId: opportunityId });
    const failures = audit.filter((e) => e.outcome === 'failed' && e.direction === 'to-pc');
    // Exactly one verdict: the notification of our own ✖ write must not start the check (and the write) over again.
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toContain('customer contact is required');
    expect(await h.referralsForCrmId(opportunityId)).toEqual([]);
    expect((await h.referrals()).length).toBe(referralsBefore);
  });

  it('an opportunity with "Sync with Partner Center" = No is never sent', async () => {
    const hidden = await h.dvCreateDeal({ name: 'Private pipeline deal', company: 'Quiet Corp', value: 75_000, sync: false });
    // A control deal created right after it, so waiting for the control proves the service has looked at both.
    const control = await h.dvCreateDeal({ name: 'Shared pipeline deal', company: 'Loud Corp', value: 80_000, sync: true });
    await waitFor('the control deal in Partner Center', async () => (await h.referralsForCrmId(control.opportunityId)).length === 1);
    await h.dvSellerEdit('opportunities', hidden.opportunityId, { description: 'Still private, edited' });
    await h.reconcile();
    await h.waitForIdle();
    expect(await h.referralsForCrmId(hidden.opportunityId)).toEqual([]);
    expect(await h.audit({ crmId: hidden.opportunityId })).toEqual([]);
    const opportunity = await h.opportunity(hidden.opportunityId);
    expect(opportunity?.cosell_referralidentifier ?? null).toBeNull();
    expect(await h.referralsForCrmId(control.opportunityId)).toHaveLength(1);
  });
});

describe('conflicts and API cost (engine driven by the test)', () => {
  const tmp = makeTempDir();
  let h: SyncHarness;

  beforeAll(async () => {
    // The bundled mapping with one change: the opportunity's notes ⇄ description is a `manual` conflict field.
    const mappingFile = writeManualNotesMapping(tmp.path);
    h = await SyncHarness.start({ runEngine: false, mappingFile });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    tmp.cleanup();
  });

  /** Both sellers' edits are in the queue (webhooks delivered, jobs waiting) before the worker looks. */
  async function untilQueued(): Promise<void> {
    await h.waitForWebhooks();
    expect((await h.status()).queueDepth).toBeGreaterThan(0);
  }

  /** An incoming co-sell referral the partner accepted (so it takes CRM edits) and its opportunity, synced and settled. */
  const linked = (name: string) => h.acceptedPair({ name, customerProfile: { name: `${name} Customer`, address: { postalCode: '30000' } } });

  it('the same field changed on both sides before the service looks: newest wins, audited as a conflict with both values', async () => {
    const { referralId, opportunityId } = await linked('Conflict deal');

    // Round 1: the CRM edit is the newer one. Dataverse stamps modifiedon to the second, so it goes in the next second.
    await h.pcSellerEdit(referralId, { details: { dealValue: 111_111 } });
    await sleep(1_050 - (Date.now() % 1_000));
    await h.dvSellerEdit('opportunities', opportunityId, { estimatedvalue: 222_222 });
    await untilQueued();
    await h.runWorkerUntilIdle();
    expect(detailsOf(await h.referral(referralId)).dealValue).toBe(222_222);
    expect((await h.opportunity(opportunityId))?.estimatedvalue).toBe(222_222);
    let audit = await h.audit({ referralId });
    const crmWon = audit.find((e) => e.field === 'dealValue' && e.outcome === 'conflict' && e.newValue === 222_222);
    expect(crmWon).toMatchObject({ direction: 'to-pc', oldValue: 111_111, newValue: 222_222 });
    expect(crmWon?.message).toContain('Partner Center 111111');
    expect(crmWon?.message).toContain('CRM 222222');
    expect(crmWon?.message).toContain('newest-wins');

    // Round 2: the Partner Center edit is the newer one.
    await h.dvSellerEdit('opportunities', opportunityId, { estimatedvalue: 333_333 });
    await sleep(20);
    await h.pcSellerEdit(referralId, { details: { dealValue: 444_444 } });
    await untilQueued();
    await h.runWorkerUntilIdle();
    expect(detailsOf(await h.referral(referralId)).dealValue).toBe(444_444);
    expect((await h.opportunity(opportunityId))?.estimatedvalue).toBe(444_444);
    audit = await h.audit({ referralId });
    const pcWon = audit.find((e) => e.field === 'dealValue' && e.outcome === 'conflict' && e.newValue === 444_444);
    expect(pcWon).toMatchObject({ direction: 'to-crm', oldValue: 333_333, newValue: 444_444 });
    expect(pcWon?.message).toContain('CRM 333333');
    expect(await h.conflicts()).toEqual([]);
  });

  it('a `manual` field changed on both sides is held: nothing overwritten, listed in /api/conflicts until the sides agree', async () => {
    const { referralId, opportunityId } = await linked('Manual conflict deal');
    await h.pcSellerEdit(referralId, { details: { notes: 'Microsoft: customer wants a workshop first' } });
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Seller: customer signed the pilot' });
    await untilQueued();
    await h.runWorkerUntilIdle();

    const held = (await h.conflicts()).filter((c) => c.referralId === referralId);
    expect(held).toEqual([
      expect.objectContaining({ field: 'notes', pc: 'Microsoft: customer wants a workshop first', crm: 'Seller: customer signed the pilot' }),
    ]);
    expect(detailsOf(await h.referral(referralId)).notes).toBe('Microsoft: customer wants a workshop first');
    expect((await h.opportunity(opportunityId))?.description).toBe('Seller: customer signed the pilot');
    const audit = await h.audit({ referralId });
    expect(audit.some((e) => e.field === 'notes' && e.outcome === 'held')).toBe(true);
    expect((await h.status()).heldConflicts).toBeGreaterThanOrEqual(1);

    // A seller settles it by making the sides agree: the conflict is released.
    await h.dvSellerEdit('opportunities', opportunityId, { description: 'Microsoft: customer wants a workshop first' });
    await untilQueued();
    await h.runWorkerUntilIdle();
    expect((await h.conflicts()).filter((c) => c.referralId === referralId)).toEqual([]);
  });

  it('two referrals for the same new customer, synced at the same moment, share one new account', async () => {
    // 40 ms per Dataverse call, so both syncs look for the account before either has created it.
    await h.dvFaults({ latencyMs: 40 });
    const customer = { name: 'Simultaneous Holdings', address: { postalCode: '55555' } };
    const referrals = await Promise.all([
      h.incomingReferral({ name: 'Simultaneous deal A', customerProfile: customer }),
      h.incomingReferral({ name: 'Simultaneous deal B', customerProfile: customer }),
    ]);
    await untilQueued();
    await h.runWorkerUntilIdle();
    await h.clearDvFaults();
    const accounts = (await h.records('accounts')).filter((a) => a.name === 'Simultaneous Holdings');
    expect(accounts).toHaveLength(1);
    for (const referral of referrals) {
      expect((await h.opportunityFor(referral.id))?._customerid_value).toBe(accounts[0]?.accountid);
    }
  });

  /** Counts of one sync, with the echo of our own Dataverse write dropped so that only the sync itself is counted. */
  async function costOfPartnerCenterChange(referralId: string, dealValue: number) {
    await h.dvFaults({ delivery: { dropRate: 1 } });
    await h.resetRequests();
    await h.pcSellerEdit(referralId, { details: { dealValue } });
    await untilQueued();
    await h.runWorkerUntilIdle();
    await h.clearDvFaults();
    return { pc: (await h.pcRequests()).routes, dv: (await h.dvRequests()).routes };
  }

  it('API cost of a referral update: one Partner Center read and one CRM write, co-sell included; a change on Microsoft\'s side reads its referral once', async () => {
    // Non-co-sell: a partner-led deal that started in Dynamics (no help requested → an Independent referral).
    const deal = await h.dvCreateDeal({ name: 'Partner-led deal', company: 'Partnerled Corp', value: 60_000, sync: true });
    await h.waitForWebhooks();
    await h.runWorkerUntilIdle();
    const [independent] = await h.referralsForCrmId(deal.opportunityId);
    expect(independent?.type).toBe('Independent');
    const independentId = String(independent?.id);

    const plain = await costOfPartnerCenterChange(independentId, 61_000);
    expect((await h.opportunity(deal.opportunityId))?.estimatedvalue).toBe(61_000);
    expect(plain.pc).toEqual({ 'GET /v1.0/engagements/referrals/:id': 1 });
    expect(writes(plain.dv)).toBe(1);
    expect(reads(plain.dv)).toBeLessThanOrEqual(1);

    // A re-sync of a pair nothing changed in: reads only, no write anywhere.
    await h.resetRequests();
    expect((await adminFetch(`${h.adminUrl}/api/sync/referral/${independentId}`, { method: 'POST' })).status).toBe(202);
    await h.runWorkerUntilIdle();
    const echo = { pc: (await h.pcRequests()).routes, dv: (await h.dvRequests()).routes };
    expect(echo.pc).toEqual({ 'GET /v1.0/engagements/referrals/:id': 1 });
    expect(writes(echo.dv)).toBe(0);

    // Delivered for real, the notification of our own Dataverse write is recognised (our application user, depth 1):
    // stored in the inbox, no sync, no call anywhere.
    const eventsBefore = (await h.api<{ events: unknown[] }>('/api/events?source=dynamics&limit=500')).events.length;
    await h.resetRequests();
    await h.pcSellerEdit(independentId, { details: { dealValue: 61_500 } });
    await untilQueued();
    await h.runWorkerUntilIdle();
    const delivered = { pc: (await h.pcRequests()).routes, dv: (await h.dvRequests()).routes };
    expect((await h.opportunity(deal.opportunityId))?.estimatedvalue).toBe(61_500);
    expect((await h.api<{ events: unknown[] }>('/api/events?source=dynamics&limit=500')).events.length).toBe(eventsBefore + 1);
    expect(delivered.pc).toEqual({ 'GET /v1.0/engagements/referrals/:id': 1 });
    expect(writes(delivered.dv)).toBe(1);
    expect(reads(delivered.dv)).toBe(1);

    // Co-sell: the same. A change of the partner's own referral (referral-updated) cannot concern Microsoft's referral
    // in the engagement, so that is not read; its fields keep their synced values.
    const { referralId: coSellId, opportunityId: coSellOpportunity } = await linked('Co-sell cost deal');
    const coSell = await costOfPartnerCenterChange(coSellId, 62_000);
    expect((await h.opportunity(coSellOpportunity))?.estimatedvalue).toBe(62_000);
    expect(coSell.pc).toEqual({ 'GET /v1.0/engagements/referrals/:id': 1 });
    expect(writes(coSell.dv)).toBe(1);
    expect((await h.opportunity(coSellOpportunity))?.cosell_microsoftstatus).not.toBeNull();

    // A Microsoft seller moves Microsoft's own referral: related-referral-updated reads the engagement once and
    // Microsoft's status reaches the opportunity.
    const engagementId = (await h.referral(coSellId))?.engagementId;
    const microsoftReferral = (await h.referrals()).find((r) => r.engagementId === engagementId && r.id !== coSellId);
    expect(microsoftReferral?.status).toBe('Active');
    const before = (await h.opportunity(coSellOpportunity))?.cosell_microsoftstatus;
    await h.dvFaults({ delivery: { dropRate: 1 } });
    await h.resetRequests();
    await h.pcSellerEdit(String(microsoftReferral?.id), { status: 'Closed', substatus: 'Won' });
    await untilQueued();
    await h.runWorkerUntilIdle();
    await h.clearDvFaults();
    const related = { pc: (await h.pcRequests()).routes, dv: (await h.dvRequests()).routes };
    expect(related.pc).toEqual({ 'GET /v1.0/engagements/referrals': 1, 'GET /v1.0/engagements/referrals/:id': 1 });
    const after = (await h.opportunity(coSellOpportunity))?.cosell_microsoftstatus;
    expect(after).not.toBe(before);
    expect(writes(related.dv)).toBe(1);

    console.info(
      [
        'API calls per Partner Center change (sync only; the echo of our Dataverse write is dropped):',
        `  non-co-sell: Partner Center ${reads(plain.pc)} read / ${writes(plain.pc)} writes; Dataverse ${reads(plain.dv)} reads / ${writes(plain.dv)} write`,
        `  co-sell:     Partner Center ${reads(coSell.pc)} reads / ${writes(coSell.pc)} writes; Dataverse ${reads(coSell.dv)} reads / ${writes(coSell.dv)} write`,
        `  Microsoft's side changed (related-referral-updated): Partner Center ${reads(related.pc)} reads; Dataverse ${reads(related.dv)} reads / ${writes(related.dv)} write`,
        `  a re-sync of an unchanged pair: Partner Center ${reads(echo.pc)} read, Dataverse ${reads(echo.dv)} read, no writes`,
        `  with the echo of our Dataverse write delivered: Partner Center ${reads(delivered.pc)} read; Dataverse ${reads(delivered.dv)} read / ${writes(delivered.dv)} write (the echo costs nothing)`,
        `  routes: ${JSON.stringify({ plain, coSell, echo })}`,
      ].join('\n'),
    );
  });
});
