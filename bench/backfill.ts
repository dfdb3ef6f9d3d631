/**
 * Backfill benchmark: N incoming referrals wait in the Partner Center sandbox when the service starts, with Dynamics
 * 365 and Salesforce both connected (as `npm start` runs them), and every sandbox API call delayed by --latency ms.
 *
 *   npm run bench:backfill [-- --n 1000 --latency 50 --concurrency 8 --poll 500 --timeout 1800]   (--help lists all)
 *
 * The service runs as a `cosell start` child process (its own event loop). It is started once with nothing waiting
 * (setup, webhook registration), stopped, then the referrals are seeded without webhook events and the service is
 * started again: its first reconcile pass finds them all, as after a first start. Prints seconds until every referral
 * is linked in each CRM (opportunities carrying the referral id, read through the sandboxes' uncounted control API),
 * referrals/s, API calls per referral per vendor and route (the sandboxes' request counters), the peak queue depth
 * (admin status API, polled) and the service's peak RSS (VmHWM of the child process). Figures are printed, never
 * asserted.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RequestCounts } from '../test/support/service-harness.ts';
import { sleep } from '../test/support/service-harness.ts';
import { benchCommand, positiveInteger, type SandboxBenchOptions } from './support/cli.ts';
import { cpuSeconds, linkedOpportunities, log, peakRssMb, readCounts, resetCounts, seedReferrals, setLatency, startDualService } from './support/dual.ts';
import { deployedNodeOptions } from './support/deployed-node-options.ts';
import { loadNote } from './support/stats.ts';
import { childProfileEnv, InProcessProfile, summarizeProfiles } from './support/profile.ts';

const options = benchCommand('bench:backfill', 'N referrals waiting when the service first starts, both CRMs connected', { latency: 50, concurrency: 8, poll: 500 })
  .option('--n <count>', 'referrals waiting in Partner Center', positiveInteger, 1000)
  .option('--timeout <s>', 'give up after this many seconds', positiveInteger, 1800)
  .option('--restart', 'then stop the service and start it again with nothing new: what a quiet first pass costs')
  .option('--node-options <flags>', "the service's NODE_OPTIONS (default: the deployed ones, from deploy/systemd/cosell.service; '' for none)")
  .option('--tsx', 'run the service from its TypeScript sources under tsx (default: `npm run build` first, then the compiled dist/, as deployed)')
  .option('--heap-snapshot <mb>', "write one heap snapshot of the service (into the system's temp dir) when its V8 heap in use first passes <mb> MB", positiveInteger)
  .option('--profile <dir>', 'write CPU profiles of the service and of the sandboxes (this process) into <dir>, and summarize them')
  .parse()
  .opts<SandboxBenchOptions & { n: number; timeout: number; restart?: boolean; profile?: string; tsx?: boolean; heapSnapshot?: number; nodeOptions?: string }>();
const { n, latency: latencyMs, concurrency, poll: pollMs, timeout: timeoutS } = options;
const profileDir = options.profile === undefined ? undefined : resolve(options.profile);

function printCounts(label: string, counts: RequestCounts): void {
  console.log(`  ${label.padEnd(15)} ${(counts.total / n).toFixed(3)} calls/referral (${counts.total} calls)`);
  for (const [route, calls] of Object.entries(counts.routes).sort(([, a], [, b]) => b - a)) {
    console.log(`      ${(calls / n).toFixed(3).padStart(7)}  ${route} (${calls})`);
  }
}

/** Waits until the service's first reconcile pass since its start has finished. */
async function passDone(): Promise<void> {
  for (;;) {
    const { reconcile } = await h.status();
    if (reconcile?.running === false) return;
    await sleep(100);
  }
}

/** Runs `task` with these environment variables set for the child processes it spawns. */
async function withEnv<T>(values: Record<string, string>, task: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  try {
    return await task();
  } finally {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/**
 * "A second start with nothing new costs only the listing pages": the service is stopped and started again over the
 * same store, its first pass runs, and every vendor call it made is printed (CRM start-up checks included).
 */
async function quietRestart(): Promise<void> {
  if (h.process) await h.stopService();
  await resetCounts(h);
  const started = performance.now();
  await h.startService();
  await passDone();
  await h.waitForIdle(600_000);
  const seconds = (performance.now() - started) / 1000;
  const { pc, dv, sf } = await readCounts(h);
  console.log(`\nsecond start, nothing new — idle after ${seconds.toFixed(1)} s; ${loadNote()}`);
  printCounts('Partner Center', pc);
  printCounts('Dataverse', dv);
  printCounts('Salesforce', sf);
}

/*
 * Production runs the compiled artifact (README "Deploying"); tsx compiles every module on load and keeps its
 * transpiler and source maps in the heap, which adds tens of MB to RSS. bin/cosell.js honours COSELL_RUN.
 */
const runs = options.tsx ? 'TypeScript sources under tsx' : 'compiled dist/ (npm run build)';
if (!options.tsx) {
  log('npm run build…');
  execFileSync('npm', ['run', 'build'], { cwd: resolve(import.meta.dirname, '..'), stdio: ['ignore', 'ignore', 'inherit'] });
}
process.env.COSELL_RUN = options.tsx ? 'src' : 'dist';

/** Peaks of the service's process.memoryUsage(), sampled by memory-hook.mjs (loaded into the child). */
const memoryFile = join(mkdtempSync(join(tmpdir(), 'cosell-bench-memory-')), 'memory.json');
/** The deployed service's runtime flags (a heap ceiling), given to the service child only. */
const serviceNodeOptions = options.nodeOptions ?? deployedNodeOptions();
/**
 * The service child's environment: the deployed NODE_OPTIONS, then whatever `base` (or this process) has, then
 * memory-hook.mjs.
 */
function memoryEnv(base: Record<string, string>): Record<string, string> {
  const hook = join(import.meta.dirname, 'support/memory-hook.mjs');
  return {
    ...base,
    NODE_OPTIONS: [serviceNodeOptions, base.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '', `--import=${hook}`].join(' ').trim(),
    COSELL_BENCH_MEMORY_FILE: memoryFile,
    ...(options.heapSnapshot === undefined ? {} : { COSELL_BENCH_HEAP_SNAPSHOT_MB: String(options.heapSnapshot) }),
  };
}
function memoryNote(): string {
  if (!existsSync(memoryFile)) return 'no memory samples';
  const peak = JSON.parse(readFileSync(memoryFile, 'utf8')) as Record<string, number>;
  const mb = (name: string) => ((peak[name] ?? Number.NaN) / 1024 / 1024).toFixed(0);
  return `peaks: V8 heap used ${mb('heapUsed')} MB (live after a full GC ${mb('liveAfterMajorGc')} MB, ${String(peak.majorGcs ?? 0)} full GCs), heap reserved ${mb('heapTotal')} MB, external ${mb('external')} MB (ArrayBuffers ${mb('arrayBuffers')} MB); RSS ${mb('startRss')} MB when loaded; samples (s, RSS, heap used, heap reserved, ArrayBuffers MB) in ${memoryFile}`;
}

log(`bench:backfill — ${n} referrals, ${latencyMs} ms per sandbox API call, sync.concurrency ${concurrency}, both CRMs; service: ${runs}, NODE_OPTIONS ${serviceNodeOptions || '(none)'}`);
const h = await withEnv({ NODE_OPTIONS: [serviceNodeOptions, process.env.NODE_OPTIONS ?? ''].join(' ').trim() }, () => startDualService(options));
try {
  const idleRss = peakRssMb(h.process?.child.pid);
  await h.stopService();
  log(`seeding ${n} referrals…`);
  await seedReferrals(h, n, false);
  await setLatency(h, latencyMs);
  await resetCounts(h);
  log('starting the service…');
  const sandboxProfile = profileDir === undefined ? undefined : await InProcessProfile.start(profileDir, 'sandboxes');
  const started = performance.now();
  const benchCpuBefore = process.cpuUsage();
  await withEnv(memoryEnv(profileDir === undefined ? {} : childProfileEnv(profileDir)), () => h.startService());
  const linkedAt: { dynamics?: number; salesforce?: number } = {};
  let peakQueue = 0;
  let peakRss = 0;
  const deadline = started + timeoutS * 1000;
  // Reading every opportunity of both CRMs runs in this process, beside the sandboxes: with thousands of records it
  // costs them a good share of their CPU. So the lists are read after five times what the last read took, and at every
  // poll only once the service reports all referrals created in bulk in both CRMs (its pass's count, which the lists
  // then confirm); the status poll itself is cheap.
  let linked = { dv: new Map<string, unknown>(), sf: new Map<string, unknown>() };
  let nextLinkedRead = 0;
  for (;;) {
    const status = await h.status();
    const closeToDone = (status.reconcile?.backfilled ?? 0) >= 2 * n || status.reconcile?.running === false;
    if (performance.now() >= nextLinkedRead || closeToDone) {
      const before = performance.now();
      linked = await linkedOpportunities(h);
      nextLinkedRead = performance.now() + 5 * (performance.now() - before);
    }
    const [dv, sf] = [linked.dv.size, linked.sf.size];
    const now = performance.now();
    if (dv >= n && linkedAt.dynamics === undefined) linkedAt.dynamics = now;
    if (sf >= n && linkedAt.salesforce === undefined) linkedAt.salesforce = now;
    peakQueue = Math.max(peakQueue, status.queueDepth);
    peakRss = Math.max(peakRss, peakRssMb(h.process?.child.pid));
    const idle = status.queueDepth === 0 && status.inFlight === 0 && status.reconcile?.running === false;
    if (linkedAt.dynamics !== undefined && linkedAt.salesforce !== undefined && idle) break;
    if (now > deadline) throw new Error(`not done after ${timeoutS} s: Dynamics ${dv}, Salesforce ${sf} linked, queue ${status.queueDepth}`);
    log(`  ${((now - started) / 1000).toFixed(1)} s: Dynamics ${dv}/${n}, Salesforce ${sf}/${n} (lists), ${status.reconcile?.backfilled ?? 0} created in bulk (service), queue ${status.queueDepth}, in flight ${status.inFlight}`);
    await sleep(pollMs);
  }
  await h.waitForIdle(600_000);
  const idleAt = performance.now();
  const serviceCpu = cpuSeconds(h.process?.child.pid);
  const benchCpu = process.cpuUsage(benchCpuBefore);
  peakRss = Math.max(peakRss, peakRssMb(h.process?.child.pid));
  const [{ pc, dv, sf }, status] = await Promise.all([readCounts(h), h.status()]);
  const seconds = (at: number | undefined) => (at === undefined ? Number.NaN : (at - started) / 1000);
  const total = pc.total + dv.total + sf.total;
  console.log(`\nbench:backfill — ${n} referrals, ${latencyMs} ms per call, sync.concurrency ${concurrency}, Dynamics 365 + Salesforce; service: ${runs}, NODE_OPTIONS ${serviceNodeOptions || '(none)'}; ${loadNote()}`);
  console.log(`  all linked    Dynamics ${seconds(linkedAt.dynamics).toFixed(1)} s, Salesforce ${seconds(linkedAt.salesforce).toFixed(1)} s; idle after ${seconds(idleAt).toFixed(1)} s`);
  console.log(`  throughput    ${(n / seconds(idleAt)).toFixed(1)} referrals/s (start → idle)`);
  console.log(`  API calls     ${(total / n).toFixed(2)} per referral in all (CometD long polls not counted)`);
  printCounts('Partner Center', pc);
  printCounts('Dataverse', dv);
  printCounts('Salesforce', sf);
  console.log(
    `  CPU           service ${serviceCpu.toFixed(1)} s (${((1000 * serviceCpu) / n).toFixed(2)} ms/referral, start-up included); sandboxes and bench ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} s`,
  );
  console.log(`  peak queue    ${peakQueue} jobs (polled every ${pollMs} ms)`);
  console.log(`  peak RSS      ${peakRss.toFixed(0)} MB (service process; ${idleRss.toFixed(0)} MB at its first, idle start)`);
  console.log(`  memory        ${memoryNote()}`);
  console.log(`  service       ${status.deadLetters} dead letters, ${status.heldConflicts} held conflicts`);
  const pass = status.reconcile;
  if (pass) console.log(`  first pass    ${pass.referrals} referrals listed, ${pass.backfilled} created in bulk (summed over CRMs), ${pass.queued} jobs queued`);
  if (options.log !== 'error') process.stderr.write(h.process?.stdout().slice(-20_000) ?? '');
  if (profileDir !== undefined) {
    await sandboxProfile?.stop();
    // The child writes its profile when it exits: a graceful stop, not the harness's SIGKILL.
    await h.stopService();
    console.log(`\nCPU profiles in ${profileDir}\n${summarizeProfiles(profileDir)}`);
  }
  if (options.restart) await quietRestart();
} finally {
  await h.close();
}
