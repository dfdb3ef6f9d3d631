/**
 * End-to-end sync benchmark with both CRMs connected, as `npm start` runs them: how long a seller's change in one
 * system takes to become visible in the others, how many changes per second the service keeps up with, and how many
 * API calls each change costs.
 *
 *   npm run bench:sync [-- --pairs 1000 --runs 5 --rate 50 --duration 10 --latency 50 --direction both]   (--help lists all)
 *
 * The Partner Center, Dataverse and Salesforce sandboxes run in this process; the service runs as a `cosell start`
 * child process (its own event loop) with Dynamics 365 (webhooks) and Salesforce (CDC) connected. Set-up, without
 * injected latency: --pairs incoming referrals, each linked to an opportunity in both CRMs and accepted by the partner.
 * Then --runs measured runs on those pairs, every sandbox API call taking --latency ms more. Each run has up to three
 * phases, each sending --rate changes/s open loop for --duration s (round robin over the pairs):
 *   Partner Center → CRMs   a Microsoft seller changes dealValue; first sight in Dataverse's estimatedvalue and in
 *                           Salesforce's Amount (a change counts as visible when it is in both);
 *   Dynamics → Partner Center    a Dynamics seller edits description; first sight in the referral's notes;
 *   Salesforce → Partner Center  a Salesforce seller edits Description (arrives through CDC); same.
 * Visibility is polled every --poll ms through the sandboxes' control APIs (not counted, never faulted). Latency is
 * first sight − the change's scheduled send time, so a slow send is not hidden (no coordinated omission); it includes
 * the webhook or CDC delivery, the service's work and up to one poll interval. A change overwritten by a newer change
 * of the same record before it became visible counts as visible when that newer change does (overtaken, not lost).
 * API calls per change come from the sandboxes' request counters over the phase, echoes of our own writes included.
 * Per phase the bench prints each run's figures, then the median and range over runs; the verdict comes from the
 * median p99. Figures are printed, never asserted.
 */
import { performance } from 'node:perf_hooks';
import type { DualCrmHarness } from '../test/support/dual-crm-harness.ts';
import { reads, sleep, waitFor, writes, type RequestCounts } from '../test/support/service-harness.ts';
import { benchCommand, nonNegative, positiveInteger, withRuns, type RepeatedOptions, type SandboxBenchOptions } from './support/cli.ts';
import { linkedOpportunities, log, readCounts, resetCounts, seedReferrals, setLatency, startDualService, type VendorCounts } from './support/dual.ts';
import { formatSpread, loadNote, percentile, spread } from './support/stats.ts';

type Direction = 'both' | 'pc' | 'crm';
const options = withRuns(benchCommand('bench:sync', 'end-to-end sync latency, throughput and API calls per change, both CRMs connected', { latency: 50, concurrency: 32, poll: 100 }))
  .option('--pairs <n>', 'referral ↔ opportunity pairs the changes go round robin over', positiveInteger, 1000)
  .option('--rate <n>', 'changes per second, sent open loop', nonNegative, 50)
  .option('--duration <s>', 'seconds each phase sends changes', nonNegative, 10)
  .option('--direction <d>', 'both, pc (Partner Center → CRMs) or crm (each CRM → Partner Center)', (value: string): Direction => {
    if (value !== 'both' && value !== 'pc' && value !== 'crm') throw new Error('--direction must be both, pc or crm');
    return value;
  }, 'both' as Direction)
  .parse()
  .opts<SandboxBenchOptions & RepeatedOptions & { pairs: number; rate: number; duration: number; direction: Direction }>();
const { pairs, rate, duration, latency: latencyMs, poll: pollMs, runs, direction } = options;

/** The goal the verdict checks (issue 12's setting: 50 ms per vendor call). */
const GOAL = { p99Ms: 1_000, rate: 50, latencyMs: 50, pairs: 1_000 };

interface Change {
  target: number;
  /** When it was due to be sent (open loop), the zero of its latency. */
  scheduledAt: number;
  /** First sight per observed sink. */
  seenAt: Array<number | undefined>;
}


interface Phase {
  key: string;
  title: string;
  sinks: string[];
  apply: (run: number, index: number, target: number) => Promise<unknown>;
  observe: (run: number) => Promise<Array<Map<number, number>>>;
}

interface PhaseRun {
  sent: number;
  visible: number;
  superseded: number;
  lost: number;
  sendErrors: number;
  /** Per sink, then for "all sinks" (the last entry when there are several), ascending. */
  latencies: number[][];
  throughput: number;
  offered: number;
  counts: VendorCounts;
}

/**
 * Sends `rate × duration` changes open loop and polls for each one's first sight in every sink. A change not seen
 * itself in a sink whose record later shows a newer change there is "superseded" and takes that newer change's sight
 * time; a change that never became visible in every sink, not even through a newer one, is lost.
 */
async function runPhase(h: DualCrmHarness, phase: Phase, run: number): Promise<PhaseRun> {
  await resetCounts(h);
  const total = Math.round(rate * duration);
  const changes: Change[] = [];
  const latestSent = new Map<number, number>();
  let sendErrors = 0;
  let sending = true;
  let polling = true;

  const look = async (): Promise<void> => {
    const shownPerSink = await phase.observe(run);
    const now = performance.now();
    shownPerSink.forEach((shown, sink) => {
      for (const index of shown.values()) {
        const change = changes[index];
        if (change && change.seenAt[sink] === undefined) change.seenAt[sink] = now;
      }
    });
  };
  const poller = (async () => {
    while (polling) {
      await look();
      const pending = changes.some((c, i) => latestSent.get(c.target) === i && phase.sinks.some((_, sink) => c.seenAt[sink] === undefined));
      if (!sending && !pending) return;
      await sleep(pollMs);
    }
  })();

  const started = performance.now();
  const inFlight: Array<Promise<unknown>> = [];
  for (let i = 0; i < total; i++) {
    const scheduledAt = started + (i * 1000) / rate;
    const wait = scheduledAt - performance.now();
    if (wait > 1) await sleep(wait);
    const target = i % pairs;
    changes[i] = { target, scheduledAt, seenAt: [] };
    latestSent.set(target, i);
    inFlight.push(phase.apply(run, i, target).catch(() => sendErrors++));
  }
  const sendSeconds = (performance.now() - started) / 1000;
  await Promise.all(inFlight);
  sending = false;
  await Promise.race([poller, sleep(60_000)]);
  polling = false;
  await poller;
  // Whatever shows up only once the service is idle is late, not lost: one last look after it drained.
  await h.waitForIdle(600_000);
  await look();
  const counts = await readCounts(h);

  const sinkCount = phase.sinks.length;
  const perSink: number[][] = Array.from({ length: sinkCount + (sinkCount > 1 ? 1 : 0) }, () => []);
  let superseded = 0;
  let lost = 0;
  let visible = 0;
  let lastSeen = started;
  const reflectedAt = new Map<number, Array<number | undefined>>();
  for (let i = changes.length - 1; i >= 0; i--) {
    const change = changes[i]!;
    const later = reflectedAt.get(change.target) ?? [];
    const at = phase.sinks.map((_, sink) => {
      const own = change.seenAt[sink];
      const newer = later[sink];
      return own !== undefined && (newer === undefined || own < newer) ? own : newer;
    });
    reflectedAt.set(change.target, at);
    const seenEverywhere = at.every((t) => t !== undefined) && at.length === sinkCount;
    if (!seenEverywhere) lost++;
    else if (phase.sinks.some((_, sink) => change.seenAt[sink] === undefined)) superseded++;
    at.forEach((t, sink) => {
      if (t !== undefined) perSink[sink]!.push(t - change.scheduledAt);
    });
    if (!seenEverywhere) continue;
    visible++;
    const all = Math.max(...(at as number[]));
    if (sinkCount > 1) perSink[sinkCount]!.push(all - change.scheduledAt);
    lastSeen = Math.max(lastSeen, all);
  }
  for (const l of perSink) l.sort((a, b) => a - b);
  return {
    sent: total,
    visible,
    superseded,
    lost,
    sendErrors,
    latencies: perSink,
    throughput: visible / ((lastSeen - started) / 1000),
    offered: total / sendSeconds,
    counts,
  };
}

function phases(h: DualCrmHarness, referralIds: string[], dvIds: string[], sfIds: string[]): Phase[] {
  const referralIndex = new Map(referralIds.map((id, i) => [id, i]));
  const dvIndex = new Map(dvIds.map((id, i) => [id, i]));
  const sfIndex = new Map(sfIds.map((id, i) => [id, i]));
  // Each run writes values of its own (a base per run, a tag per phase), so what a record shows is attributable.
  const base = (run: number) => 1_000_000 * (run + 1);
  const amounts = (rows: Array<Record<string, unknown>>, idField: string, amountField: string, index: Map<string, number>, run: number) => {
    const shown = new Map<number, number>();
    for (const row of rows) {
      const at = index.get(String(row[idField]));
      const amount = row[amountField];
      if (at !== undefined && typeof amount === 'number' && amount >= base(run) && amount < base(run + 1)) shown.set(at, amount - base(run));
    }
    return shown;
  };
  const notes = async (tag: string) => {
    const shown = new Map<number, number>();
    const pattern = new RegExp(`^bench ${tag} change (\\d+)$`);
    for (const r of await h.referrals()) {
      const at = referralIndex.get(String(r.id));
      const text = (r.details as Record<string, unknown> | undefined)?.notes;
      const match = typeof text === 'string' ? pattern.exec(text) : null;
      if (at !== undefined && match) shown.set(at, Number(match[1]));
    }
    return shown;
  };
  const all: Phase[] = [];
  if (direction !== 'crm') {
    all.push({
      key: 'pc',
      title: 'Partner Center → Dynamics 365 + Salesforce (Microsoft seller changes dealValue; seen in estimatedvalue and Amount)',
      sinks: ['Dataverse', 'Salesforce'],
      apply: (run, i, target) => h.pcSellerEdit(referralIds[target]!, { details: { dealValue: base(run) + i } }),
      observe: async (r) => {
        const [dv, sf] = await Promise.all([h.dvOpportunities(), h.sfOpportunities()]);
        return [amounts(dv, 'opportunityid', 'estimatedvalue', dvIndex, r), amounts(sf, 'Id', 'Amount', sfIndex, r)];
      },
    });
  }
  if (direction !== 'pc') {
    all.push({
      key: 'dv',
      title: 'Dynamics 365 → Partner Center (Dynamics seller edits description; seen in the referral notes)',
      sinks: ['Partner Center'],
      apply: (run, i, target) => h.dvSellerEdit('opportunities', dvIds[target]!, { description: `bench r${run}dv change ${i}` }),
      observe: async (r) => [await notes(`r${r}dv`)],
    });
    all.push({
      key: 'sf',
      title: 'Salesforce → Partner Center (Salesforce seller edits Description, via CDC; seen in the referral notes)',
      sinks: ['Partner Center'],
      apply: (run, i, target) => h.sfSellerEdit('Opportunity', sfIds[target]!, { Description: `bench r${run}sf change ${i}` }),
      observe: async (r) => [await notes(`r${r}sf`)],
    });
  }
  return all;
}

const ms = (n: number) => `${Math.round(n)} ms`;

function callsPerChange(counts: RequestCounts, sent: number): string {
  return `${(reads(counts.routes) / sent).toFixed(2)} reads + ${(writes(counts.routes) / sent).toFixed(2)} writes`;
}

function printRun(phase: Phase, run: number, r: PhaseRun): void {
  const sinks = phase.sinks.length > 1 ? [...phase.sinks, 'all'] : phase.sinks;
  const lat = sinks.map((name, i) => `${name} p50 ${ms(percentile(r.latencies[i]!, 50))} p99 ${ms(percentile(r.latencies[i]!, 99))}`).join(' · ');
  log(
    `  run ${run + 1}: ${r.sent} sent at ${r.offered.toFixed(1)}/s, ${r.visible} visible (${r.superseded} superseded), ${r.lost} lost${r.sendErrors ? `, ${r.sendErrors} send errors` : ''}; ${lat}; ${r.throughput.toFixed(1)} changes/s`,
  );
}

function report(phase: Phase, results: PhaseRun[]): { p99: number; lost: number } {
  const sinks = phase.sinks.length > 1 ? [...phase.sinks, 'all'] : phase.sinks;
  const verdictSink = sinks.length - 1;
  console.log(`\n${phase.title}`);
  const sum = (f: (r: PhaseRun) => number) => results.reduce((s, r) => s + f(r), 0);
  console.log(`  changes       ${sum((r) => r.sent)} sent over ${results.length} runs; ${sum((r) => r.visible)} visible, ${sum((r) => r.superseded)} superseded (seen only through a newer change of the same record), ${sum((r) => r.lost)} never visible, ${sum((r) => r.sendErrors)} send errors`);
  for (const [i, name] of sinks.entries()) {
    const p = (q: number) => formatSpread(results.map((r) => percentile(r.latencies[i]!, q)), 0, ' ms');
    console.log(`  latency       ${name === 'all' ? 'in all' : `in ${name}`}: p50 ${p(50)}   p90 ${p(90)}   p99 ${p(99)}   max ${p(100)}`);
  }
  console.log(`  throughput    ${formatSpread(results.map((r) => r.throughput))} changes/s visible (first send → last change visible)`);
  const per = (pick: (c: VendorCounts) => RequestCounts) => formatSpread(results.map((r) => pick(r.counts).total / r.sent), 2);
  console.log(`  API calls     per change: Partner Center ${per((c) => c.pc)}, Dataverse ${per((c) => c.dv)}, Salesforce ${per((c) => c.sf)} (echoes included; CometD not counted)`);
  const last = results[results.length - 1]!;
  console.log(`                last run: Partner Center ${callsPerChange(last.counts.pc, last.sent)}; Dataverse ${callsPerChange(last.counts.dv, last.sent)}; Salesforce ${callsPerChange(last.counts.sf, last.sent)}`);
  for (const [label, counts] of [['Partner Center', last.counts.pc], ['Dataverse', last.counts.dv], ['Salesforce', last.counts.sf]] as const) {
    const routes = Object.entries(counts.routes).map(([route, n]) => `${route} ${(n / last.sent).toFixed(2)}`).join(', ');
    console.log(`                  ${label}: ${routes || '(none)'}`);
  }
  return { p99: spread(results.map((r) => percentile(r.latencies[verdictSink]!, 99))).median, lost: sum((r) => r.lost) };
}

log(`bench:sync — ${pairs} pairs, both CRMs, ${runs} runs of ${rate} changes/s for ${duration} s per phase, ${latencyMs} ms per sandbox API call, sync.concurrency ${options.concurrency}, poll ${pollMs} ms`);
const h = await startDualService(options);
try {
  log(`set-up: ${pairs} incoming referrals, each linked in both CRMs and accepted…`);
  const referralIds = await seedReferrals(h, pairs, true);
  const linked = await waitFor(
    'every bench opportunity in both CRMs',
    async () => {
      const now = await linkedOpportunities(h);
      return referralIds.every((id) => now.dv.has(id) && now.sf.has(id)) ? now : undefined;
    },
    1_800_000,
    1_000,
  );
  const dvIds = referralIds.map((id) => String(linked.dv.get(id)?.opportunityid));
  const sfIds = referralIds.map((id) => String(linked.sf.get(id)?.Id));
  await h.waitForIdle(600_000);
  // Partner Center takes no edit of an unanswered invitation: the partner accepts each one, so CRM edits can reach it.
  for (const id of referralIds) await h.pcPartnerAccept(id);
  await h.waitForIdle(600_000);
  await setLatency(h, latencyMs);

  const all = phases(h, referralIds, dvIds, sfIds);
  const results = new Map(all.map((p) => [p.key, [] as PhaseRun[]]));
  for (let run = 0; run < runs; run++) {
    for (const phase of all) {
      log(`run ${run + 1}/${runs}: ${phase.title.split(' (')[0]}…`);
      const r = await runPhase(h, phase, run);
      results.get(phase.key)!.push(r);
      printRun(phase, run, r);
    }
  }

  const status = await h.status();
  console.log(`\nbench:sync — ${pairs} pairs, Dynamics 365 + Salesforce, ${rate} changes/s for ${duration} s per phase, ${latencyMs} ms per sandbox API call, sync.concurrency ${options.concurrency}, poll ${pollMs} ms`);
  console.log(`  ${runs} runs; figures are median (min–max) over runs; ${loadNote()}`);
  const verdicts = all.map((phase) => report(phase, results.get(phase.key)!));
  const worst = Math.max(...verdicts.map((v) => v.p99));
  const met = worst < GOAL.p99Ms && verdicts.every((v) => v.lost === 0);
  const comparable = Math.abs(rate - GOAL.rate) < 1e-9 && latencyMs === GOAL.latencyMs && pairs >= GOAL.pairs;
  const goal = `median p99 < ${GOAL.p99Ms} ms in every direction, nothing lost, at ${GOAL.rate} changes/s, ${GOAL.latencyMs} ms per call, ${GOAL.pairs}+ pairs`;
  console.log(`\n  service       ${status.deadLetters} dead letters, ${status.heldConflicts} held conflicts, queue ${status.queueDepth}`);
  console.log(
    comparable
      ? `  verdict       ${goal}: ${met ? 'MET' : 'MISSED'} (worst median p99 ${ms(worst)})`
      : `  verdict       not measured by this run's settings (${goal}); at these settings: worst median p99 ${ms(worst)}, ${met ? 'within' : 'outside'} the goal`,
  );
} finally {
  await h.close();
}
