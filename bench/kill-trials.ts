/*
 * npm run bench:kill-trials — SIGKILL trials with Dynamics and Salesforce connected, at 0 / 50 / 150 ms of injected
 * Partner Center latency: referrals shared by Microsoft and deals born in either CRM stream in while the service is
 * killed at random points. Prints, per latency: trials, deals, lost, duplicated, wrong "CRM ID", dead letters.
 *
 *   KILL_TRIALS (default 20 per latency)   KILL_SEED (default random; printed)   KILL_LATENCIES (default 0,50,150)
 */
import { runDualKillTrials } from '../test/support/dual-kill-trials.ts';

const trials = Number(process.env.KILL_TRIALS ?? 20);
const seed = Number(process.env.KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const latencies = (process.env.KILL_LATENCIES ?? '0,50,150').split(',').map((v) => Number(v.trim()));

console.log(`kill trials, both CRMs connected: ${trials} trials per latency, seed ${seed} (replay with KILL_SEED=${seed})`);
console.log('latency_ms  trials  incoming  crm_deals  lost  duplicated  wrong_crm_id  dead_letters');
let failed = false;
for (const latency of latencies) {
  const result = await runDualKillTrials({ trials, seed: seed + latency, pcLatencyMs: latency });
  console.log(
    [latency, result.trials, result.incoming, result.crmDeals, result.lost, result.duplicated, result.wrongCrmId, result.deadLetters]
      .map((v, i) => String(v).padStart(i === 0 ? 10 : 8))
      .join('  '),
  );
  for (const problem of result.problems.slice(0, 20)) console.log(`    ${problem}`);
  failed ||= result.problems.length > 0;
}
process.exitCode = failed ? 1 : 0;
