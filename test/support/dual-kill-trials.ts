import { DualCrmHarness } from './dual-crm-harness.ts';
import { runKillTrials } from './kill-trials.ts';
import { seededRandom, type Row } from './service-harness.ts';

/*
 * SIGKILL trials with Dynamics and Salesforce connected at once: referrals shared by Microsoft and deals born in either
 * CRM stream in while the (child-process) service is killed at random points and restarted; Partner Center answers
 * with injected latency. At the end (after a reconcile pass and an idle system): every deal is in Partner Center once,
 * with the id of the CRM it was born in as "CRM ID", and every referral of the partner is in each CRM once.
 */

export interface DualKillTrialsOptions {
  trials: number;
  seed: number;
  pcLatencyMs: number;
}

export interface DualKillTrialsResult {
  trials: number;
  incoming: number;
  crmDeals: number;
  lost: number;
  duplicated: number;
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
    const act = async () => {
      const n = sequence++;
      const kind = n % 3;
      if (kind === 0) {
        const referral = await h.incomingReferral({ name: `Incoming ${options.seed}-${n}` });
        incoming.push(referral.id);
      } else if (kind === 1) {
        const name = `Dynamics deal ${options.seed}-${n}`;
        const { opportunityId } = await h.dvCreateDeal({ name, company: `Dyn Company ${n}`, value: 10_000 + n });
        born.push({ name, crm: 'dynamics', recordId: opportunityId });
      } else {
        const name = `Salesforce deal ${options.seed}-${n}`;
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
        born.push({ name, crm: 'salesforce', recordId: String(opportunity.Id) });
      }
    };
    await runKillTrials({ harness: h, trials: options.trials, killRandom, random, act });

    await h.clearPcFaults();
    await h.startService();
    await h.reconcile();
    await h.waitForIdle(120_000);

    const problems: string[] = [];
    let lost = 0;
    let duplicated = 0;
    let wrongCrmId = 0;
    const [referrals, dvOpps, sfOpps] = await Promise.all([h.referrals(), h.dvOpportunities(), h.sfOpportunities()]);
    const partnerReferrals = referrals.filter((r) => r.organizationId !== 'msft');
    for (const deal of born) {
      const matches = partnerReferrals.filter((r) => r.name === deal.name);
      if (matches.length === 0) {
        lost += 1;
        problems.push(`${deal.crm} deal "${deal.name}" never reached Partner Center`);
      } else if (matches.length > 1) {
        duplicated += matches.length - 1;
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
      const copies = { dynamics: inCrm(dvOpps, 'cosell_referralidentifier', id), salesforce: inCrm(sfOpps, 'Referral_Identifier__c', id) };
      for (const [crm, count] of Object.entries(copies)) {
        if (count === 0) {
          lost += 1;
          problems.push(`referral ${id} ("${String(referral.name)}") has no ${crm} opportunity`);
        } else if (count > 1) {
          duplicated += count - 1;
          problems.push(`referral ${id} ("${String(referral.name)}") has ${count} ${crm} opportunities`);
        }
      }
    }
    for (const id of incoming) if (!partnerReferrals.some((r) => r.id === id)) problems.push(`incoming referral ${id} vanished`);
    const deadLetters = (await h.deadLetters()).length;
    if (deadLetters > 0) problems.push(`${deadLetters} dead letters: ${JSON.stringify(await h.deadLetters()).slice(0, 500)}`);
    return { trials: options.trials, incoming: incoming.length, crmDeals: born.length, lost, duplicated, wrongCrmId, deadLetters, problems };
  } finally {
    await h.close();
  }
}
