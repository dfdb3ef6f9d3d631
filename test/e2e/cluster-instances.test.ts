import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterHarness } from '../support/cluster-harness.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { waitFor, type Row } from '../support/service-harness.ts';

/*
 * Issue 15, "How this will be checked": three `cosell start` instances on one PostgreSQL database behind one webhook
 * URL (a round-robin balancer), both CRMs connected. Under the same webhook traffic (30 incoming referrals and 10 CRM
 * edits), every event is stored once, every pair is synced once per change (vendor writes counted at per-instance
 * recording proxies), a pair's changes land in order, Salesforce CDC and Dataverse change tracking are followed by
 * exactly one instance, and after a SIGKILL of that leader another one takes over (the time is printed, not asserted).
 */

const INCOMING = 30;
const DEALS = 5;
const EDITS_PER_DEAL = 2;

describe('three instances on one PostgreSQL database', () => {
  let db: TestDatabase;
  let h: ClusterHarness;

  beforeAll(async () => {
    db = await createTestDatabase('cosell_cluster');
    h = await ClusterHarness.start({ instances: 3, databaseUrl: db.url, sync: { reconcileIntervalSeconds: 5, reconcileOnStart: true } });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await db?.drop();
  });

  it('stores every event once, syncs every change once and in order, and one instance follows the CRMs', async () => {
    // Deals born in Dynamics: partner-owned referrals whose edits flow to Partner Center and Salesforce.
    const deals = await Promise.all(
      Array.from({ length: DEALS }, (_, n) => h.dvCreateDeal({ name: `Cluster deal ${n}`, company: `Cluster Company ${n}`, value: 10_000 + n })),
    );
    await h.waitForIdle(90_000);
    const dealReferral = async (opportunityId: string): Promise<Row> =>
      waitFor(`the referral of Dynamics deal ${opportunityId}`, async () =>
        (await h.referrals()).find((r) => String(r.externalReferenceId ?? '').toLowerCase() === opportunityId.toLowerCase()));
    const dealReferrals = await Promise.all(deals.map((d) => dealReferral(d.opportunityId)));

    // The traffic: 30 referrals shared by Microsoft, and 2 edits in a row of each deal's notes, all at once.
    const editValue = (deal: number, edit: number) => `Cluster notes ${deal}.${edit}`;
    const [incoming] = await Promise.all([
      Promise.all(Array.from({ length: INCOMING }, (_, n) => h.incomingReferral({ name: `Cluster incoming ${n}` }))),
      Promise.all(deals.map(async (deal, n) => {
        for (let edit = 1; edit <= EDITS_PER_DEAL; edit++) await h.dvSellerEdit('opportunities', deal.opportunityId, { description: editValue(n, edit) });
      })),
    ]);
    await h.waitForIdle(120_000);

    const problems: string[] = [];
    // Every event stored once: an inbox row for each incoming referral, none twice.
    expect(await h.inboxDuplicates()).toEqual([]);
    for (const referral of incoming) {
      if ((await h.inboxRowsFor(referral.id)).length === 0) problems.push(`no inbox row for incoming referral ${referral.id}`);
    }
    // Every pair synced once: one opportunity per referral in each CRM, created by one write.
    const [dvOpps, sfOpps] = await Promise.all([h.dvOpportunities(), h.sfOpportunities()]);
    for (const { id } of incoming) {
      const dvCopies = dvOpps.filter((o) => o.cosell_referralidentifier === id).length;
      const sfCopies = sfOpps.filter((o) => o.Referral_Identifier__c === id).length;
      if (dvCopies !== 1) problems.push(`referral ${id}: ${dvCopies} Dynamics opportunities`);
      if (sfCopies !== 1) problems.push(`referral ${id}: ${sfCopies} Salesforce opportunities`);
      const { dynamics: dvCreates, salesforce: sfCreates } = h.opportunityCreates(id);
      // Later writes of the opportunity (sync status) are other changes; the creating write is the one a second
      // instance working the same event would repeat.
      if (dvCreates.length !== 1 || sfCreates.length !== 1) {
        problems.push(`referral ${id}: Dynamics opportunity written ${dvCreates.length}×, Salesforce create sent ${sfCreates.length}×`);
      }
    }
    // Per-pair order and one write per change: the last edit is what Partner Center and Salesforce hold, sent once.
    for (const [n, referral] of dealReferrals.entries()) {
      const last = editValue(n, EDITS_PER_DEAL);
      const pc = (await h.referrals()).find((r) => r.id === referral.id);
      const notes = (pc?.details as Row | undefined)?.notes;
      if (notes !== last) problems.push(`deal ${n}: Partner Center notes ${JSON.stringify(notes)}, expected ${last}`);
      const sf = sfOpps.find((o) => o.Referral_Identifier__c === referral.id);
      if (sf?.Description !== last) problems.push(`deal ${n}: Salesforce description ${JSON.stringify(sf?.Description)}, expected ${last}`);
      for (let edit = 1; edit <= EDITS_PER_DEAL; edit++) {
        const value = editValue(n, edit);
        const pcWrites = h.writesMentioning(value, 'partnerCenter').length;
        const sfWrites = h.writesMentioning(value, 'salesforce').length;
        // An earlier edit may be folded into the later one; none may be written twice, and the last must be written.
        const most = 1;
        const least = edit === EDITS_PER_DEAL ? 1 : 0;
        if (pcWrites < least || pcWrites > most) problems.push(`edit "${value}" written to Partner Center ${pcWrites}×`);
        if (sfWrites < least || sfWrites > most) problems.push(`edit "${value}" written to Salesforce ${sfWrites}×`);
      }
    }
    const perRecord = [...h.writesPerRecord().values()];
    const byInstance = [0, 1, 2].map((i) => h.vendorWrites().filter((w) => w.instance === i).length);
    console.info(`cluster-instances: vendor writes by instance ${byInstance.join(' / ')}, ${perRecord.length} records written, webhooks served by instance ${h.balancer.served.join(' / ')}`);
    expect(problems).toEqual([]);
    expect(await h.deadLetters()).toEqual([]);
    // The work was shared: more than one instance wrote to the vendors.
    expect(byInstance.filter((n) => n > 0).length).toBeGreaterThan(1);

    // One instance follows the CRMs: one CDC subscriber, and only it asks Dataverse for changes.
    const leader = await h.cdcLeader();
    expect(h.cdcSubscribers()).toEqual([leader]);
    const since = Date.now();
    await waitFor('a change-tracking pass', async () => h.changeTrackers(since).length > 0, 30_000, 200);
    expect(h.changeTrackers(since)).toEqual([leader]);
  }, 300_000);

  it('after a SIGKILL of the leader another instance takes over the CDC subscription and change tracking', async () => {
    const leader = await h.cdcLeader();
    const killedAt = await h.killInstance(leader);
    const cdc = await waitFor('another instance to subscribe to CDC', async () => h.firstCdcSubscribeAfter(killedAt, leader), 90_000, 100);
    const tracking = await waitFor('another instance to follow Dataverse change tracking', async () => h.firstChangeTrackingAfter(killedAt, leader), 90_000, 100);
    console.info(
      `cluster-instances: leader ${leader} killed; CDC taken over by instance ${cdc.instance} after ${((cdc.at - killedAt) / 1000).toFixed(2)} s, ` +
        `change tracking by instance ${tracking.instance} after ${((tracking.at - killedAt) / 1000).toFixed(2)} s (bound: 30 s)`,
    );
    expect(cdc.instance).not.toBe(leader);
    expect(tracking.instance).toBe(cdc.instance);
    expect(await h.cdcLeader()).toBe(cdc.instance);

    // The survivors keep syncing: a referral shared now reaches both CRMs once.
    const late = await h.incomingReferral({ name: 'Cluster incoming after failover' });
    await h.waitForIdle(90_000);
    expect((await h.dvOpportunities()).filter((o) => o.cosell_referralidentifier === late.id)).toHaveLength(1);
    expect((await h.sfOpportunities()).filter((o) => o.Referral_Identifier__c === late.id)).toHaveLength(1);

    // The killed instance comes back as a follower.
    await h.restartInstance(leader);
    await h.waitForIdle(60_000);
    expect(h.cdcSubscribers()).toEqual([cdc.instance]);
  }, 300_000);
});
