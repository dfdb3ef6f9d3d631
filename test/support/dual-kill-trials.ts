import { DualCrmHarness } from './dual-crm-harness.ts';
import { runKillTrials } from './kill-trials.ts';
import { seededRandom, type Row } from './service-harness.ts';

/*
 * SIGKILL trials with Dynamics and Salesforce connected at once: referrals shared by Microsoft and deals born in either
 * CRM stream in while the (child-process) service is killed at random points and restarted; Partner Center answers
 * with injected latency. Either a steady mixed stream (the fast subset in `npm test`) or bursts (`burst`: the
 * benchmark's 200 incoming referrals and 40 CRM-born deals). At the end (after a reconcile pass and an idle system):
 * every deal is in Partner Center once, with the id of the CRM it was born in as "CRM ID", and every referral of the
 * partner is in each CRM once.
 */

export interface DualKillTrialsOptions {
  trials: number;
  seed: number;
  pcLatencyMs: number;
  /**
   * Bursts instead of a steady stream: this many referrals shared by Microsoft and deals born in the CRMs (alternately
   * Dynamics and Salesforce), in a seeded shuffle, sent in concurrent chunks spread over the trials; whatever is left
   * after the last kill is sent while the service is down.
   */
  burst?: { incoming: number; crmDeals: number };
}

export interface DualKillTrialsResult {
  trials: number;
  incoming: number;
  crmDeals: number;
  lost: number;
  /** All copies too many: in Partner Center plus in each CRM. */
  duplicated: number;
  duplicatedIn: { partnerCenter: number; dynamics: number; salesforce: number };
  wrongCrmId: number;
  deadLetters: number;
  problems: string[];
}

interface BornDeal {
  name: string;
  crm: 'dynamics' | 'salesforce';
  recordId: string;
}

export async function runDualKillTrials(options: DualKillTrialsOptions): Promise<DualKillTrialsResult> {
  const h = await DualCrmHarness.start({
    mode: 'child',
    logLevel: 'error',
    pcDelivery: { initialDelayMs: 100, maxDelayMs: 800 },
    sync: { reconcileIntervalSeconds: 3600, reconcileOnStart: true },
  });
  try {
    await h.pcLatency(options.pcLatencyMs);
    const killRandom = seededRandom(options.seed);
    const random = seededRandom(options.seed ^ 0x5bd1e995);
    const born: BornDeal[] = [];
    const incoming: string[] = [];
    let sequence = 0;
    const perform = async (kind: Action) => {
      const n = sequence++;
      if (kind === 'incoming') incoming.push((await h.incomingReferral({ name: `Incoming ${options.seed}-${n}` })).id);
      else born.push(await createDeal(h, kind, `${options.seed}-${n}`, n));
    };
    const steady: Action[] = ['incoming', 'dynamics', 'salesforce'];
    const plan = options.burst ? burstPlan(options.burst, random) : undefined;
    // About two chunks per trial's stream, so the burst spans the trials and every kill lands in the middle of it.
    const chunk = plan ? Math.max(1, Math.ceil(plan.length / (options.trials * 2))) : 1;
    const act = async () => {
      if (!plan) return perform(steady[sequence % 3] ?? 'incoming');
      await Promise.all(plan.splice(0, chunk).map(perform));
    };
    await runKillTrials({ harness: h, trials: options.trials, killRandom, random, act });
    if (plan) await Promise.all(plan.splice(0).map(perform));

    await h.clearPcFaults();
    await h.startService();
    await h.reconcile();
    // A burst's backlog (two CRM copies of every referral, behind Partner Center's latency) takes longer to settle.
    await h.waitForIdle(Math.max(120_000, 2_000 * (incoming.length + born.length)));

    const problems: string[] = [];
    let lost = 0;
    const duplicatedIn = { partnerCenter: 0, dynamics: 0, salesforce: 0 };
    let wrongCrmId = 0;
    const [referrals, dvOpps, sfOpps] = await Promise.all([h.referrals(), h.dvOpportunities(), h.sfOpportunities()]);
    const partnerReferrals = referrals.filter((r) => r.organizationId !== 'msft');
    for (const deal of born) {
      const matches = partnerReferrals.filter((r) => r.name === deal.name);
      if (matches.length === 0) {
        lost += 1;
        problems.push(`${deal.crm} deal "${deal.name}" never reached Partner Center`);
      } else if (matches.length > 1) {
        duplicatedIn.partnerCenter += matches.length - 1;
        problems.push(`${deal.crm} deal "${deal.name}" is ${matches.length} referrals`);
      }
      for (const match of matches) {
        if (String(match.externalReferenceId ?? '').toLowerCase() !== deal.recordId.toLowerCase()) {
          wrongCrmId += 1;
          problems.push(`referral ${String(match.id)} of ${deal.crm} deal "${deal.name}" has CRM ID ${String(match.externalReferenceId)}, not ${deal.recordId}`);
        }
      }
    }
    const inCrm = (rows: Row[], column: string, id: string) => rows.filter((o) => o[column] === id).length;
    for (const referral of partnerReferrals) {
      const id = String(referral.id);
      const copies = { dynamics: inCrm(dvOpps, 'cosell_referralidentifier', id), salesforce: inCrm(sfOpps, 'Referral_Identifier__c', id) } as const;
      for (const crm of ['dynamics', 'salesforce'] as const) {
        const count = copies[crm];
        if (count === 0) {
          lost += 1;
          problems.push(`referral ${id} ("${String(referral.name)}") has no ${crm} opportunity`);
        } else if (count > 1) {
          duplicatedIn[crm] += count - 1;
          problems.push(`referral ${id} ("${String(referral.name)}") has ${count} ${crm} opportunities`);
        }
      }
    }
    for (const id of incoming) if (!partnerReferrals.some((r) => r.id === id)) problems.push(`incoming referral ${id} vanished`);
    const deadLetters = (await h.deadLetters()).length;
    if (deadLetters > 0) problems.push(`${deadLetters} dead letters: ${JSON.stringify(await h.deadLetters()).slice(0, 500)}`);
    const duplicated = duplicatedIn.partnerCenter + duplicatedIn.dynamics + duplicatedIn.salesforce;
    return { trials: options.trials, incoming: incoming.length, crmDeals: born.length, lost, duplicated, duplicatedIn, wrongCrmId, deadLetters, problems };
  } finally {
    await h.close();
  }
}

type Action = 'incoming' | BornDeal['crm'];

/** The burst's actions in a seeded shuffle (Fisher–Yates): the CRM-born deals fall among the incoming referrals. */
function burstPlan(burst: { incoming: number; crmDeals: number }, random: () => number): Action[] {
  const plan: Action[] = [
    ...Array.from({ length: burst.incoming }, () => 'incoming' as const),
    ...Array.from({ length: burst.crmDeals }, (_, i) => (i % 2 === 0 ? ('dynamics' as const) : ('salesforce' as const))),
  ];
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j] as Action, plan[i] as Action];
  }
  return plan;
}

/** A seller creates a deal in the CRM, marked to sync with Partner Center. */
async function createDeal(h: DualCrmHarness, crm: BornDeal['crm'], tag: string, n: number): Promise<BornDeal> {
  if (crm === 'dynamics') {
    const name = `Dynamics deal ${tag}`;
    const { opportunityId } = await h.dvCreateDeal({ name, company: `Dyn Company ${n}`, value: 10_000 + n });
    return { name, crm, recordId: opportunityId };
  }
  const name = `Salesforce deal ${tag}`;
  const account = await h.sfCreate('Account', { Name: `SF Company ${n}`, BillingCity: 'Seattle', BillingPostalCode: '98101', BillingCountry: 'US' });
  const opportunity = await h.sfCreate('Opportunity', {
    Name: name,
    Amount: 20_000 + n,
    CloseDate: '2027-06-30',
    StageName: 'Prospecting',
    AccountId: account.Id,
    Description: `${name} (created in Salesforce)`,
    Sync_with_Partner_Center__c: true,
  });
  return { name, crm, recordId: String(opportunity.Id) };
}
