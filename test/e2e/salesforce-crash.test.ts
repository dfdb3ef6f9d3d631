import { describe, expect, it } from 'vitest';
import { runKillTrials } from '../support/kill-trials.ts';
import { OPPORTUNITY_CDC_WATERMARK, SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';
import { detailsOf, type Row, seededRandom, waitFor } from '../support/service-harness.ts';
import { NOTIFICATIONS_ONLY, suiteHarness } from '../support/suite-harness.ts';

/*
 * SIGKILL trials against Salesforce: `cosell start` runs as a child process while referrals are shared by Microsoft,
 * Microsoft sellers edit them and Salesforce sellers edit the opportunities. At random points the service is SIGKILLed
 * and restarted on the same database; changes keep coming while it is down (Partner Center retries its webhooks;
 * Salesforce keeps the change events, which the service must replay from its stored replay id). The start-up reconcile
 * is switched off, so a Salesforce edit made while the service is down can only arrive through the CDC resume.
 * At the end, after a reconcile pass and a drained queue: one opportunity per referral and every latest value on both
 * sides, no dead letters.
 *
 * Kill points come from a seeded PRNG; the seed is printed. Replay a run with CRASH_SEED=<seed>.
 */

const TRIALS = Number(process.env.CRASH_TRIALS ?? 20);
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Deal {
  referralId: string;
  dealValue: number;
  /** The last description a Salesforce seller typed, if any. */
  description?: string;
}

describe('SIGKILL at random points while changes stream between Partner Center and Salesforce', () => {
  const h = suiteHarness(async () => {
    console.info(`salesforce-crash: seed ${SEED}, ${TRIALS} trials (replay with CRASH_SEED=${SEED})`);
    return SalesforceSyncHarness.start({
      mode: 'child',
      logLevel: 'error',
      pcDelivery: { initialDelayMs: 100, maxDelayMs: 800 },
      sync: NOTIFICATIONS_ONLY,
    });
  });
  const killRandom = seededRandom(SEED);
  const random = seededRandom(SEED ^ 0x5bd1e995);
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(random() * items.length)];

  it(`loses and duplicates nothing across ${TRIALS} kill trials, and CDC resumes from the stored replay id`, async () => {
    const deals = new Map<string, Deal>();
    const opportunityOfReferral = new Map<string, string>();
    let sequence = 0;
    const counts = { incoming: 0, pcEdits: 0, sfEdits: 0, actionsWhileDown: 0 };

    const learnOpportunities = async () => {
      for (const o of await h.opportunities()) {
        const referralId = o.Referral_Identifier__c;
        if (typeof referralId === 'string' && deals.has(referralId)) opportunityOfReferral.set(referralId, String(o.Id));
      }
    };

    const act = async (): Promise<void> => {
      const n = ++sequence;
      const roll = random();
      if (roll < 0.2 || deals.size === 0) {
        const dealValue = 10_000 + n;
        const referral = await h.incomingReferral({
          name: `SF crash deal ${n}`,
          details: { dealValue },
          customerProfile: { name: `SF Crash Customer ${n}`, address: { postalCode: `8${String(n).padStart(4, '0')}` } },
        });
        deals.set(referral.id, { referralId: referral.id, dealValue });
        counts.incoming++;
      } else if (roll < 0.55) {
        const deal = pick([...deals.values()]);
        if (!deal) return;
        deal.dealValue = 100_000 + n;
        await h.pcSellerEdit(deal.referralId, { details: { dealValue: deal.dealValue } });
        counts.pcEdits++;
      } else {
        if (n % 3 === 0) await learnOpportunities();
        const target = pick([...opportunityOfReferral]);
        if (!target) return;
        const [referralId, opportunityId] = target;
        const description = `Salesforce seller edit ${n}`;
        // The seller works the deal, so it leaves the on-hold stage (accepting it): on hold, edits would wait.
        await h.sfSellerEdit('Opportunity', opportunityId, { Description: description, StageName: 'Qualification' });
        deals.get(referralId)!.description = description;
        counts.sfEdits++;
      }
    };

    const { killDelays, actionsWhileDown } = await runKillTrials({ harness: h, trials: TRIALS, killRandom, random, act });
    counts.actionsWhileDown += actionsWhileDown;

    // CDC resume: settle, kill once more, have a Salesforce seller edit a deal while the service is down, restart.
    // With no start-up reconcile and an hour-long interval, only the replay from the stored replay id can bring it.
    await h.startService();
    await h.waitForIdle(90_000);
    await learnOpportunities();
    // /api/status lists the Partner Center and reconcile watermarks, not the CDC replay ids: read the store.
    const watermarkBefore = await h.storedWatermark(OPPORTUNITY_CDC_WATERMARK);
    expect(watermarkBefore).toMatch(/^\d+$/);
    const [resumeReferralId, resumeOpportunityId] = [...opportunityOfReferral][0]!;
    await h.killService();
    const resumeDescription = `Edited in Salesforce while the service was down (seed ${SEED})`;
    await h.sfSellerEdit('Opportunity', resumeOpportunityId, { Description: resumeDescription, StageName: 'Qualification' });
    deals.get(resumeReferralId)!.description = resumeDescription;
    await h.startService();
    await waitFor('the edit made while down to reach Partner Center through CDC', async () => detailsOf(await h.referral(resumeReferralId)).notes === resumeDescription, 30_000);
    const resumeAudit = await h.audit({ referralId: resumeReferralId });
    expect(resumeAudit.some((e) => e.cause === 'event' && e.field === 'notes' && e.newValue === resumeDescription)).toBe(true);
    expect(resumeAudit.some((e) => e.cause === 'reconcile' && e.newValue === resumeDescription)).toBe(false);
    const watermarkAfter = await waitFor('the replay id to move past the edit made while down', async () => {
      const value = await h.storedWatermark(OPPORTUNITY_CDC_WATERMARK);
      return Number(value) > Number(watermarkBefore) ? value : undefined;
    });
    expect(Number(watermarkAfter)).toBeGreaterThan(Number(watermarkBefore));

    // Convergence: a reconcile pass after the backlog drained catches whatever the kills raced with.
    await h.waitForIdle(90_000);
    await h.reconcile();
    await h.waitForIdle(90_000);

    const [opportunities, referrals, status, deadLetters] = await Promise.all([h.opportunities(), h.referrals(), h.status(), h.deadLetters()]);
    console.info(
      `salesforce-crash: seed ${SEED}; ${counts.incoming} incoming referrals, ${counts.pcEdits} Partner Center edits, ` +
        `${counts.sfEdits} Salesforce edits (${counts.actionsWhileDown} changes while down); kills after ${killDelays.join(', ')} ms; ` +
        `${deadLetters.length} dead letters`,
    );

    const byReferral = new Map<string, Row[]>();
    for (const o of opportunities) {
      const referralId = o.Referral_Identifier__c;
      if (typeof referralId === 'string') byReferral.set(referralId, [...(byReferral.get(referralId) ?? []), o]);
    }
    expect([...byReferral].filter(([, rows]) => rows.length > 1).map(([id]) => id)).toEqual([]);
    expect([...deals.keys()].filter((id) => !byReferral.has(id))).toEqual([]);

    const referralById = new Map(referrals.map((r) => [String(r.id), r]));
    const wrong: string[] = [];
    for (const deal of deals.values()) {
      const referral = referralById.get(deal.referralId);
      const opportunity = byReferral.get(deal.referralId)?.[0];
      const notes = detailsOf(referral).notes;
      if (detailsOf(referral).dealValue !== deal.dealValue) wrong.push(`referral ${deal.referralId}: dealValue ${String(detailsOf(referral).dealValue)}, expected ${deal.dealValue}`);
      if (opportunity?.Amount !== deal.dealValue) wrong.push(`opportunity of ${deal.referralId}: Amount ${String(opportunity?.Amount)}, expected ${deal.dealValue}`);
      if ((opportunity?.Description ?? null) !== (notes ?? null)) wrong.push(`pair ${deal.referralId}: notes ${JSON.stringify(notes)} ≠ Description ${JSON.stringify(opportunity?.Description)}`);
      if (deal.description !== undefined && opportunity?.Description !== deal.description) {
        wrong.push(`opportunity of ${deal.referralId}: Description ${JSON.stringify(opportunity?.Description)}, expected ${JSON.stringify(deal.description)}`);
      }
    }
    if (wrong.length > 0) {
      const ids = new Set(wrong.map((line) => /([0-9a-f]{8}-[0-9a-f-]{27})/.exec(line)?.[1]).filter((id): id is string => id !== undefined));
      for (const id of ids) {
        const entries = await h.audit({ referralId: id, limit: 50 });
        console.info(`audit of ${id}:\n${entries.map((e) => `  ${e.at} ${e.cause} ${e.direction} ${e.field ?? '-'} ${JSON.stringify(e.oldValue)} → ${JSON.stringify(e.newValue)} ${e.outcome} ${e.message ?? ''}`).join('\n')}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(deadLetters).toEqual([]);
    expect(status.queueDepth).toBe(0);
    expect(counts.incoming).toBeGreaterThan(0);
    expect(counts.sfEdits).toBeGreaterThan(0);
  }, 240_000);
});
