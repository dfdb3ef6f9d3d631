/*
 * npm run bench:kill-trials — SIGKILL trials with Dynamics and Salesforce connected, at 0 / 50 / 150 ms of injected
 * Partner Center latency: a burst of referrals shared by Microsoft and deals born in either CRM (200 and 40 by
 * default) is sent in concurrent chunks while the service is killed at random points and restarted. Prints, per
 * latency: trials, what was sent, lost, duplicated in Partner Center / Dynamics / Salesforce, wrong
 * externalReferenceId ("CRM ID"), dead letters.
 *
 *   KILL_TRIALS (default 20 per latency)   KILL_SEED (default random; printed)   KILL_LATENCIES (default 0,50,150)
 *   KILL_INCOMING (default 200)            KILL_CRM_DEALS (default 40, alternately Dynamics and Salesforce)
 */
import { runDualKillTrials } from '../test/support/dual-kill-trials.ts';

const trials = Number(process.env.KILL_TRIALS ?? 20);
const seed = Number(process.env.KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const latencies = (process.env.KILL_LATENCIES ?? '0,50,150').split(',').map((v) => Number(v.trim()));
const burst = { incoming: Number(process.env.KILL_INCOMING ?? 200), crmDeals: Number(process.env.KILL_CRM_DEALS ?? 40) };

console.log(
  `kill trials, both CRMs connected: ${trials} trials per latency, bursts of ${burst.incoming} incoming referrals and ` +
    `${burst.crmDeals} CRM-born deals, seed ${seed} (replay with KILL_SEED=${seed})`,
);
const columns = ['latency_ms', 'trials', 'incoming', 'crm_deals', 'lost', 'dup_pc', 'dup_dynamics', 'dup_salesforce', 'wrong_ext_ref_id', 'dead_letters'];
console.log(columns.join('  '));
let failed = false;
for (const latency of latencies) {
  const result = await runDualKillTrials({ trials, seed: seed + latency, pcLatencyMs: latency, burst });
  const { partnerCenter, dynamics, salesforce } = result.duplicatedIn;
  const row = [latency, result.trials, result.incoming, result.crmDeals, result.lost, partnerCenter, dynamics, salesforce, result.wrongCrmId, result.deadLetters];
  console.log(row.map((v, i) => String(v).padStart((columns[i] ?? '').length)).join('  '));
  for (const problem of result.problems.slice(0, 20)) console.log(`    ${problem}`);
  failed ||= result.problems.length > 0;
}
process.exitCode = failed ? 1 : 0;
