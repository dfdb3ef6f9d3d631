/*
 * npm run bench:cluster-kill — SIGKILL trials on a cluster of three `cosell start` instances sharing one PostgreSQL
 * database behind one webhook URL: during a burst of incoming referrals and CRM edits (500 and 200 by default), a
 * random instance is SIGKILLed every 2–4 s and started again (the last one stays down, so the survivors drain the
 * queue). Prints per trial which instance died and, for leader kills, how long until a survivor held the Salesforce
 * CDC subscription and followed Dataverse change tracking; then lost, duplicated, out-of-order, dead letters, jobs
 * left. Exit 1 on any problem or a CDC / change-tracking takeover slower than 30 s.
 *
 *   CLUSTER_TRIALS (default 10)   KILL_SEED (default random; printed)   CLUSTER_INCOMING (500)   CLUSTER_EDITS (200)
 *   CLUSTER_INSTANCES (3)         COSELL_TEST_DATABASE_URL (server to create the run's database on; default local)
 */
import { createBenchDatabase } from '../test/support/cluster-database.ts';
import { runClusterKillTrials, TAKEOVER_BOUND_MS } from '../test/support/cluster-kill-trials.ts';

const trials = Number(process.env.CLUSTER_TRIALS ?? 10);
const seed = Number(process.env.KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const incoming = Number(process.env.CLUSTER_INCOMING ?? 500);
const edits = Number(process.env.CLUSTER_EDITS ?? 200);
const instances = Number(process.env.CLUSTER_INSTANCES ?? 3);

console.log(`cluster kill trials: ${instances} instances, ${trials} trials, ${incoming} incoming referrals and ${edits} CRM edits, seed ${seed} (replay with KILL_SEED=${seed})`);
const db = await createBenchDatabase('cosell_bench_cluster_kill');
const started = Date.now();
try {
  const result = await runClusterKillTrials({ databaseUrl: db.url, instances, trials, seed, incoming, edits, firstKillLeader: true, log: (line) => console.log(`  ${line}`) });
  const takeovers = result.trials.filter((t) => t.wasLeader);
  const seconds = (ms: number | undefined) => (ms === undefined ? 'never' : (ms / 1000).toFixed(2));
  console.log('');
  console.log('trial  killed  leader  cdc_takeover_s  change_tracking_takeover_s  restart_s');
  for (const [i, t] of result.trials.entries()) {
    const cells = [
      String(i + 1).padStart(5),
      String(t.killed).padStart(6),
      (t.wasLeader ? 'yes' : 'no').padStart(6),
      (t.wasLeader ? seconds(t.cdcTakeoverMs) : '-').padStart(14),
      (t.wasLeader ? seconds(t.changeTrackingTakeoverMs) : '-').padStart(26),
      (t.restartMs === undefined ? '-' : seconds(t.restartMs)).padStart(9),
    ];
    console.log(cells.join('  '));
  }
  console.log('');
  const columns = ['incoming', 'edits', 'lost', 'duplicated', 'out_of_order', 'dead_letters', 'jobs_left', 'exhausted_job_rows', 'leader_kills', 'takeovers_over_30s', 'wall_s'];
  console.log(columns.join('  '));
  const values = [result.incoming, result.edits, result.lost, result.duplicated, result.outOfOrder, result.deadLetters, result.queuedAtEnd, result.exhaustedJobRows, takeovers.length, result.slowTakeovers, ((Date.now() - started) / 1000).toFixed(0)];
  console.log(values.map((v, i) => String(v).padStart(columns[i]?.length ?? 0)).join('  '));
  for (const problem of result.problems.slice(0, 20)) console.log(`    ${problem}`);
  process.exitCode = result.problems.length > 0 || result.slowTakeovers > 0 ? 1 : 0;
  if (result.slowTakeovers > 0) console.log(`    ${result.slowTakeovers} leader kills: CDC or change-tracking takeover over ${TAKEOVER_BOUND_MS / 1000} s`);
} finally {
  await db.drop();
}
