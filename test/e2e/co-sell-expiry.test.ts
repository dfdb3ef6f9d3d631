import { describe, expect, it } from 'vitest';
import { json, sendJson, waitFor } from '../support/service-harness.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * An incoming co-sell referral nobody answers expires after 14 days ("Get a list of referrals": invitations not
 * responded to within 14 days are archived as Closed/Expired). The Partner Center sandbox's clock is moved forward
 * through its control API; the expiry reaches the Dynamics opportunity (closed as lost, the status in its Audit).
 */

const STATE_LOST = 2;

describe('an unanswered incoming co-sell referral expires after 14 sandbox days', () => {
  const h = suiteHarness(() => SyncHarness.start({ sync: NOTIFICATIONS_ONLY }));

  const advanceClock = (days: number) => json<{ expired: string[] }>(`${h.pc.url}/_sandbox/clock`, sendJson('POST', { advanceDays: days }));

  it('13 days: still waiting; 15 days: Closed/Expired in Partner Center, and the opportunity shows it', async () => {
    const referral = await h.incomingReferral({ name: 'Co-sell nobody answered', customerProfile: { name: 'Silent Customer', address: { postalCode: '61020' } } });
    const opportunity = await waitFor('the opportunity for the incoming referral', () => h.opportunityFor(referral.id));
    const opportunityId = String(opportunity.opportunityid);
    await h.waitForIdle();

    expect((await advanceClock(13)).expired).not.toContain(referral.id);
    expect(await h.referral(referral.id)).toMatchObject({ status: 'New' });

    expect((await advanceClock(2)).expired).toContain(referral.id);
    expect(await h.referral(referral.id)).toMatchObject({ status: 'Closed', substatus: 'Expired' });
    const closed = await waitFor('the opportunity closed by the expiry', async () => {
      const o = await h.opportunity(opportunityId);
      return o?.statecode === STATE_LOST ? o : undefined;
    });
    expect(String(closed.cosell_audit)).toContain('referral Closed/Expired in Partner Center: Not answered within 14 days.');
    // The CRM write lands before the pair's commit records its audit: wait for the commit, not only the write.
    const statusWritten = await waitFor('the status write in the audit', async () => {
      const audit = await h.audit({ referralId: referral.id });
      return audit.some((e) => e.field === 'status' && e.direction === 'to-crm' && e.outcome === 'written') || undefined;
    });
    expect(statusWritten).toBe(true);
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });

  it("Microsoft's connected referral of a co-sell deal from the CRM, left unanswered, expires too: the opportunity's Microsoft Status says so", async () => {
    await h.dvImportSolutions([{ solutionId: 'SOL-34104-EBB', name: 'Cloud Migration Factory', coSellReady: true }]);
    const { opportunityId } = await h.dvCreateDeal({ name: 'Co-sell Microsoft never answered', company: 'Waiting Corp', value: 50_000, sync: true, help: 100_000_002, solutions: ['SOL-34104-EBB'] });
    const opportunity = await waitFor("Microsoft's status on the opportunity", async () => {
      const o = await h.opportunity(opportunityId);
      return typeof o?.cosell_microsoftstatus === 'string' && o.cosell_microsoftstatus !== '' ? o : undefined;
    });
    expect(opportunity.cosell_microsoftstatus).toBe('Pending');
    await h.waitForIdle();
    const expired = (await advanceClock(15)).expired;
    const [partner] = await h.referralsForCrmId(opportunityId);
    const microsoft = (await h.referrals()).find((r) => r.engagementId === partner?.engagementId && r.organizationId === 'msft');
    expect(expired).toContain(microsoft?.id);
    await waitFor('Microsoft Status = Expired on the opportunity', async () => (await h.opportunity(opportunityId))?.cosell_microsoftstatus === 'Expired');
    expect(await h.referral(String(partner?.id))).toMatchObject({ status: 'Active' });
    await h.waitForIdle();
    expect(await h.deadLetters()).toEqual([]);
  });
});
