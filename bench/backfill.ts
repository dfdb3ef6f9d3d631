/**
 * Backfill benchmark: N incoming referrals wait in the Partner Center sandbox when the service starts, with Dynamics
 * 365 and Salesforce both connected (as `npm start` runs them), and every sandbox API call delayed by --latency ms.
 *
 *   npm run bench:backfill [-- --n 1000 --latency 50 --concurrency 8 --poll 500]
 *
 * The service runs as a `cosell start` child process (its own event loop). It is started once with nothing waiting
 * (setup, webhook registration), stopped, then the referrals are seeded without webhook events and the service is
 * started again: its first reconcile pass finds them all, as after a first start. Prints seconds until every referral
 * is linked in each CRM (opportunities carrying the referral id, read through the sandboxes' uncounted control API),
 * referrals/s, API calls per referral per vendor and route (the sandboxes' request counters), the peak queue depth
 * (admin status API, polled) and the service's peak RSS (VmHWM of the child process). Figures are printed, never
 * asserted.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DualCrmHarness } from '../test/support/dual-crm-harness.ts';
import { json, sendJson, sleep, type RequestCounts } from '../test/support/service-harness.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    latency: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '8' },
    poll: { type: 'string', default: '500' },
    timeout: { type: 'string', default: '1800' },
    log: { type: 'string', default: 'error' },
  },
});
const n = Number(values.n);
const latencyMs = Number(values.latency);
const concurrency = Number(values.concurrency);
const pollMs = Number(values.poll);
const timeoutS = Number(values.timeout);
for (const [name, value] of Object.entries({ n, latencyMs, concurrency, pollMs, timeoutS })) {
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
}
const log = (line: string) => process.stderr.write(`${line}\n`);

/** The seed route takes at most 10,000 per call. */
async function seed(pcUrl: string, count: number): Promise<void> {
  for (let done = 0; done < count; ) {
    const batch = Math.min(10_000, count - done);
    await json(`${pcUrl}/_sandbox/referrals/seed`, sendJson('POST', { count: batch, events: false, microsoftSide: false }));
    done += batch;
  }
}

/** Peak resident set of a process (Linux), in MB; NaN elsewhere. */
function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function linkedCount(url: string, path: string, field: string): Promise<number> {
  const body = await json<{ value: Array<Record<string, unknown>> }>(`${url}/_sandbox/records/${path}`);
  return new Set(body.value.map((row) => row[field]).filter((id) => typeof id === 'string' && id !== '')).size;
}

function printCounts(label: string, counts: RequestCounts): void {
  console.log(`  ${label.padEnd(15)} ${(counts.total / n).toFixed(3)} calls/referral (${counts.total} calls)`);
  for (const [route, calls] of Object.entries(counts.routes).sort(([, a], [, b]) => b - a)) {
    if (route.includes('/cometd')) continue;
    console.log(`      ${(calls / n).toFixed(3).padStart(7)}  ${route} (${calls})`);
  }
}

log(`bench:backfill — ${n} referrals, ${latencyMs} ms per sandbox API call, sync.concurrency ${concurrency}, both CRMs`);
const logLevel = values.log === 'warn' || values.log === 'info' ? values.log : 'error';
const h = await DualCrmHarness.start({ mode: 'child', logLevel, sync: { concurrency } });
try {
  await h.waitForIdle(60_000);
  await h.stopService();
  log(`seeding ${n} referrals…`);
  await seed(h.pc.url, n);
  if (latencyMs > 0) {
    await h.pcFaults({ latencyMs });
    await json(`${h.dv.url}/_sandbox/faults`, sendJson('POST', { latencyMs }));
    // Not on /cometd: the CDC long poll is held open for seconds anyway.
    await json(`${h.sf.url}/_sandbox/faults`, sendJson('POST', { latencyMs, routes: ['/services/'] }));
  }
  await json(`${h.pc.url}/_sandbox/requests`, { method: 'DELETE' });
  await json(`${h.dv.url}/_sandbox/requests`, { method: 'DELETE' });
  await json(`${h.sf.url}/_sandbox/requests`, { method: 'DELETE' });
  log('starting the service…');
  const started = performance.now();
  await h.startService();
  const linkedAt: { dynamics?: number; salesforce?: number } = {};
  let peakQueue = 0;
  let peakRss = 0;
  const deadline = started + timeoutS * 1000;
  for (;;) {
    const [dv, sf, status] = await Promise.all([
      linkedAt.dynamics === undefined ? linkedCount(h.dv.url, 'opportunities', 'cosell_referralidentifier') : Promise.resolve(n),
      linkedAt.salesforce === undefined ? linkedCount(h.sf.url, 'Opportunity', 'Referral_Identifier__c') : Promise.resolve(n),
      h.status(),
    ]);
    const now = performance.now();
    if (dv >= n && linkedAt.dynamics === undefined) linkedAt.dynamics = now;
    if (sf >= n && linkedAt.salesforce === undefined) linkedAt.salesforce = now;
    peakQueue = Math.max(peakQueue, status.queueDepth);
    peakRss = Math.max(peakRss, peakRssMb(h.process?.child.pid));
    const idle = status.queueDepth === 0 && status.inFlight === 0;
    if (linkedAt.dynamics !== undefined && linkedAt.salesforce !== undefined && idle) break;
    if (now > deadline) throw new Error(`not done after ${timeoutS} s: Dynamics ${dv}, Salesforce ${sf} linked, queue ${status.queueDepth}`);
    log(`  ${((now - started) / 1000).toFixed(1)} s: Dynamics ${dv}/${n}, Salesforce ${sf}/${n}, queue ${status.queueDepth}, in flight ${status.inFlight}`);
    await sleep(pollMs);
  }
  await h.waitForIdle(600_000);
  const idleAt = performance.now();
  peakRss = Math.max(peakRss, peakRssMb(h.process?.child.pid));
  const [pc, dv, sf, status] = await Promise.all([
    json<RequestCounts>(`${h.pc.url}/_sandbox/requests`),
    json<RequestCounts>(`${h.dv.url}/_sandbox/requests`),
    json<RequestCounts>(`${h.sf.url}/_sandbox/requests`),
    h.status(),
  ]);
  const seconds = (at: number | undefined) => (at === undefined ? Number.NaN : (at - started) / 1000);
  const total = pc.total + dv.total + sf.total;
  console.log(`\nbench:backfill — ${n} referrals, ${latencyMs} ms per call, sync.concurrency ${concurrency}, Dynamics 365 + Salesforce`);
  console.log(`  all linked    Dynamics ${seconds(linkedAt.dynamics).toFixed(1)} s, Salesforce ${seconds(linkedAt.salesforce).toFixed(1)} s; idle after ${seconds(idleAt).toFixed(1)} s`);
  console.log(`  throughput    ${(n / seconds(idleAt)).toFixed(1)} referrals/s (start → idle)`);
  console.log(`  API calls     ${(total / n).toFixed(2)} per referral in all (CometD long polls not counted)`);
  printCounts('Partner Center', pc);
  printCounts('Dataverse', dv);
  printCounts('Salesforce', { total: sf.total - Object.entries(sf.routes).filter(([r]) => r.includes('/cometd')).reduce((s, [, c]) => s + c, 0), routes: sf.routes });
  console.log(`  peak queue    ${peakQueue} jobs (polled every ${pollMs} ms)`);
  console.log(`  peak RSS      ${peakRss.toFixed(0)} MB (service process)`);
  console.log(`  service       ${status.deadLetters} dead letters, ${status.heldConflicts} held conflicts`);
  if (logLevel !== 'error') process.stderr.write(h.process?.stdout().slice(-20_000) ?? '');
} finally {
  await h.close();
}
