/*
 * npm run bench:cluster — throughput and latency of a cluster of 1, 2 and 3 `cosell start` instances on one
 * PostgreSQL database behind one webhook URL, with 50 ms of latency injected into every vendor API (Partner Center,
 * Dataverse, Salesforce). A burst of referrals shared by Microsoft is sent at once; a referral's latency runs from the
 * balancer receiving its Partner Center webhook to the later of its opportunity's creating writes being answered by
 * Dynamics and by Salesforce (the CRM write visible). Prints a table: instances, referrals, throughput (referrals per
 * second, first webhook to last write), p50 / p99 / max latency.
 *
 *   CLUSTER_SIZES (default 1,2,3)   CLUSTER_REFERRALS (default 200)   CLUSTER_LATENCY_MS (default 50)
 *   COSELL_TEST_DATABASE_URL (server to create each run's database on; default local)
 */
import { ClusterHarness } from '../test/support/cluster-harness.ts';
import { createBenchDatabase } from '../test/support/cluster-database.ts';

const sizes = (process.env.CLUSTER_SIZES ?? '1,2,3').split(',').map((v) => Number(v.trim()));
const referrals = Number(process.env.CLUSTER_REFERRALS ?? 200);
const latencyMs = Number(process.env.CLUSTER_LATENCY_MS ?? 50);
const CHUNK = 25;

interface Row {
  instances: number;
  referrals: number;
  measured: number;
  throughput: number;
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function run(instances: number): Promise<Row> {
  const db = await createBenchDatabase('cosell_bench_cluster');
  const h = await ClusterHarness.start({ instances, databaseUrl: db.url, sync: { reconcileIntervalSeconds: 3600, reconcileOnStart: false } });
  try {
    await h.vendorLatency(latencyMs);
    // Warm-up: tokens, describes, connections in every instance.
    await Promise.all(Array.from({ length: 3 * instances }, (_, n) => h.incomingReferral({ name: `Warm-up ${n}` })));
    await h.waitForIdle(120_000);

    const ids: string[] = [];
    for (let sent = 0; sent < referrals; sent += CHUNK) {
      const made = await Promise.all(Array.from({ length: Math.min(CHUNK, referrals - sent) }, (_, n) => h.incomingReferral({ name: `Bench ${instances}-${sent + n}` })));
      ids.push(...made.map((r) => r.id));
    }
    await h.waitForIdle(Math.max(180_000, 2_000 * referrals));

    const latencies: number[] = [];
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    for (const id of ids) {
      const received = h.balancer.received.find((r) => r.path.startsWith('/webhooks/partner-center') && r.body.includes(id))?.at;
      const creates = h.opportunityCreates(id);
      const answered = [creates.dynamics, creates.salesforce].map((writes) => Math.min(...writes.map((w) => w.endedAt ?? Number.POSITIVE_INFINITY)));
      if (received === undefined || answered.some((t) => !Number.isFinite(t))) continue;
      const visible = Math.max(...answered);
      latencies.push(visible - received);
      first = Math.min(first, received);
      last = Math.max(last, visible);
    }
    latencies.sort((a, b) => a - b);
    return {
      instances,
      referrals: ids.length,
      measured: latencies.length,
      throughput: latencies.length / Math.max(0.001, (last - first) / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
    };
  } finally {
    await h.close();
    await db.drop();
  }
}

console.log(`cluster throughput: ${referrals} incoming referrals per run, ${latencyMs} ms injected into every vendor API, both CRMs connected`);
const rows: Row[] = [];
for (const size of sizes) {
  const row = await run(size);
  rows.push(row);
  console.log(`  ${size} instance(s) done`);
}
const columns = ['instances', 'referrals', 'measured', 'referrals_per_s', 'p50_ms', 'p99_ms', 'max_ms'];
console.log(columns.join('  '));
for (const r of rows) {
  const values = [r.instances, r.referrals, r.measured, r.throughput.toFixed(1), r.p50.toFixed(0), r.p99.toFixed(0), r.max.toFixed(0)];
  console.log(values.map((v, i) => String(v).padStart((columns[i] ?? '').length)).join('  '));
}
process.exitCode = rows.some((r) => r.measured < r.referrals) ? 1 : 0;
