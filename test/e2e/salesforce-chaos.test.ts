import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaultMappingPath } from '../../src/crm/vendors.ts';
import { runCli } from '../support/cli.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { detailsOf, sleep, waitFor } from '../support/service-harness.ts';
import { makeTempDir } from '../support/tmp.ts';
import { adminFetch } from '../support/admin.ts';

/*
 * Chaos between Partner Center and Salesforce: Partner Center webhooks duplicated, delayed, reordered and dropped while
 * Salesforce sellers edit the same deals (their changes arrive through CDC); a CDC gap event; a broken mapping file.
 * Every check waits for an outcome (the timeouts only bound a hung run) and asserts on state, never on elapsed time.
 */

describe('webhook and CDC chaos against the Salesforce and Partner Center sandboxes', () => {
  let h: SalesforceSyncHarness;
  /** Referral id → its opportunity id. */
  const pairs = new Map<string, string>();

  beforeAll(async () => {
    h = await SalesforceSyncHarness.start();
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('duplicated, delayed and reordered Partner Center deliveries during Salesforce seller edits converge, with no duplicates', async () => {
    for (let i = 0; i < 4; i++) {
      const referral = await h.incomingReferral({
        name: `SF chaos deal ${i}`,
        customerProfile: { name: `SF Chaos Customer ${i}`, address: { postalCode: `2000${i}` } },
      });
      const opportunity = await waitFor(`opportunity for referral ${i}`, () => h.opportunityFor(referral.id));
      pairs.set(referral.id, String(opportunity.Id));
    }
    await h.waitForIdle();
    const referralsBefore = (await h.referrals()).length;
    const opportunitiesBefore = (await h.opportunities()).length;

    // Half the Partner Center deliveries go out twice; all are held 120 ms and each held batch is sent newest first.
    await h.pcFaults({ seed: 21, delivery: { duplicateRate: 0.5, delayMs: 120, reorder: true } });
    const latestDealValue = new Map<string, number>();
    const latestNotes = new Map<string, string>();
    for (let round = 1; round <= 10; round++) {
      let index = 0;
      for (const [referralId, opportunityId] of pairs) {
        const dealValue = 200_000 + round * 1_000 + index;
        await h.pcSellerEdit(referralId, { details: { dealValue } });
        latestDealValue.set(referralId, dealValue);
        if (round % 2 === 0) {
          const notes = `Round ${round}: Salesforce seller note ${index}`;
          // The seller works the deal, so it leaves the on-hold stage (accepting it): on hold, edits would wait.
          await h.sfSellerEdit('Opportunity', opportunityId, { Description: notes, StageName: 'Qualification' });
          latestNotes.set(referralId, notes);
        }
        index++;
      }
      await sleep(30);
    }

    for (const [referralId, opportunityId] of pairs) {
      await waitFor(
        `referral ${referralId} and its opportunity to converge`,
        async () => {
          const [referral, opportunity] = await Promise.all([h.referral(referralId), h.opportunity(opportunityId)]);
          return (
            detailsOf(referral).dealValue === latestDealValue.get(referralId) &&
            opportunity?.Amount === latestDealValue.get(referralId) &&
            opportunity?.Description === latestNotes.get(referralId) &&
            detailsOf(referral).notes === latestNotes.get(referralId)
          );
        },
        30_000,
      );
    }
    await h.waitForIdle();
    await h.clearFaults();

    // The faults really happened, and the service recognised the copies as redeliveries.
    const pcLog = await h.pcDeliveries();
    expect(pcLog.value.filter((d) => d.duplicate).length).toBeGreaterThan(0);
    const metrics = await (await adminFetch(`${h.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/cosell_webhook_requests_total\{source="partner-center",outcome="duplicate"\} [1-9]/);

    for (const [referralId, opportunityId] of pairs) {
      const referral = await h.referral(referralId);
      const opportunities = await h.opportunitiesFor(referralId);
      expect(opportunities.map((o) => o.Id)).toEqual([opportunityId]);
      expect(opportunities[0]?.Amount).toBe(latestDealValue.get(referralId));
      expect(opportunities[0]?.Description).toBe(latestNotes.get(referralId));
      expect(detailsOf(referral).dealValue).toBe(latestDealValue.get(referralId));
      expect(detailsOf(referral).notes).toBe(latestNotes.get(referralId));
    }
    expect((await h.referrals()).length).toBe(referralsBefore);
    expect((await h.opportunities()).length).toBe(opportunitiesBefore);
    expect(await h.deadLetters()).toEqual([]);
  }, 90_000);

  it('a dropped Partner Center webhook is healed by POST /api/reconcile', async () => {
    const [referralId, opportunityId] = [...pairs][0]!;
    await h.pcFaults({ delivery: { dropRate: 1 } });
    await h.pcSellerEdit(referralId, { details: { dealValue: 434_343 } });
    const dropped = (await h.pcDeliveries()).value.filter((d) => d.status === 'dropped' && d.body.includes(referralId));
    expect(dropped.length).toBeGreaterThan(0);
    await h.clearPcFaults();
    await h.waitForIdle();
    // Nothing told the service: the opportunity still has the old amount.
    expect((await h.opportunity(opportunityId))?.Amount).not.toBe(434_343);

    const report = await h.reconcile();
    expect(report.referrals).toBeGreaterThanOrEqual(1);
    await waitFor('the reconciled change on the opportunity', async () => (await h.opportunity(opportunityId))?.Amount === 434_343);
    const audit = await h.audit({ referralId });
    expect(audit.some((e) => e.field === 'dealValue' && e.cause === 'reconcile' && e.outcome === 'written' && e.newValue === 434_343)).toBe(true);
    await h.waitForIdle();
  });

  it('a CDC gap event makes the service reconcile, which heals a change it had missed', async () => {
    const [referralId, opportunityId] = [...pairs][1]!;
    // A change the service never hears of (its webhook is dropped)…
    await h.pcFaults({ delivery: { dropRate: 1 } });
    await h.pcSellerEdit(referralId, { details: { dealValue: 545_454 } });
    expect((await h.pcDeliveries()).value.some((d) => d.status === 'dropped' && d.body.includes(referralId))).toBe(true);
    await h.clearPcFaults();
    await h.waitForIdle();
    expect((await h.opportunity(opportunityId))?.Amount).not.toBe(545_454);

    // …until Salesforce reports lost change events. The gap names ANOTHER opportunity, so the re-read of the named
    // record cannot be what heals this one: only the full reconcile pass the stream requests can.
    const [, otherOpportunityId] = [...pairs][2]!;
    await h.cdcGap('Opportunity', { changeType: 'GAP_UPDATE', recordIds: [otherOpportunityId] });
    await waitFor('the gap-triggered reconcile to heal the opportunity', async () => (await h.opportunity(opportunityId))?.Amount === 545_454, 20_000);
    const audit = await waitFor('the audit entry of the reconciled write', async () => {
      const entries = await h.audit({ referralId });
      return entries.some((e) => e.field === 'dealValue' && e.newValue === 545_454) ? entries : undefined;
    });
    const healed = audit.filter((e) => e.field === 'dealValue' && e.newValue === 545_454);
    expect(healed.map((e) => `${e.cause} ${e.outcome}`), JSON.stringify(healed)).toEqual(['reconcile written']);
    await h.waitForIdle();
    expect(await h.opportunitiesFor(referralId)).toHaveLength(1);
    expect(await h.deadLetters()).toEqual([]);
  }, 40_000);

  it('a broken Salesforce mapping stops start-up with exit code 2, naming the file and the path', async () => {
    const tmp = makeTempDir('cosell-sf-broken-');
    try {
      const original = readFileSync(defaultMappingPath('salesforce'), 'utf8');
      expect(original).toContain('crm: Amount');
      const broken = join(tmp.path, 'broken-salesforce.yaml');
      writeFileSync(broken, original.replace('crm: Amount', 'crm: Amout__c'));
      const configFile = join(tmp.path, 'broken-config.yaml');
      writeFileSync(configFile, stringify({ ...h.configInput, server: { host: '127.0.0.1', port: 0 }, store: { path: join(tmp.path, 'broken.db') }, mappings: { salesforce: broken } }));
      const result = await runCli(['start', '--config', configFile]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(broken);
      expect(result.stderr).toMatch(/Amout__c/);
      // The path of the offending entry in the mapping (entity opportunity, its dealValue field).
      expect(result.stderr).toMatch(/entities\.opportunity\.fields\[\d+\]/);
    } finally {
      tmp.cleanup();
    }
  }, 30_000);
});
