import { readFileSync } from 'node:fs';
import { DualCrmHarness } from '../../test/support/dual-crm-harness.ts';
import { json, sendJson, type RequestCounts } from '../../test/support/service-harness.ts';
import type { SandboxBenchOptions } from './cli.ts';

/*
 * The set-up bench:backfill and bench:sync share: Partner Center, Dataverse and Salesforce sandboxes in this process
 * and the service as a `cosell start` child process with both CRMs connected (as `npm start` runs them, with its own
 * event loop), latency injected on every vendor API call, and the sandboxes' request counters.
 */

export const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Starts the sandboxes, runs both CRMs' setup and the service (child process), and waits until it is idle. */
export async function startDualService(options: Pick<SandboxBenchOptions, 'concurrency' | 'log'>, sync: Record<string, unknown> = {}): Promise<DualCrmHarness> {
  const h = await DualCrmHarness.start({ mode: 'child', logLevel: options.log, sync: { concurrency: options.concurrency, ...sync } });
  try {
    await h.waitForIdle(60_000);
    return h;
  } catch (error) {
    await h.close();
    throw error;
  }
}

/**
 * Every vendor API call of the three sandboxes takes `latencyMs` more (0 clears it). Not on Salesforce's /cometd: the
 * CDC long poll is held open for seconds anyway, and its handshakes are not what a change costs.
 */
export async function setLatency(h: DualCrmHarness, latencyMs: number): Promise<void> {
  await h.pcFaults({ latencyMs });
  await json(`${h.dv.url}/_sandbox/faults`, sendJson('POST', { latencyMs }));
  await json(`${h.sf.url}/_sandbox/faults`, sendJson('POST', { latencyMs, routes: ['/services/'] }));
}

export interface VendorCounts {
  pc: RequestCounts;
  dv: RequestCounts;
  /** CometD long polls left out (they are neither reads nor writes a change costs). */
  sf: RequestCounts;
}

export async function resetCounts(h: DualCrmHarness): Promise<void> {
  await json(`${h.pc.url}/_sandbox/requests`, { method: 'DELETE' });
  await json(`${h.dv.url}/_sandbox/requests`, { method: 'DELETE' });
  await json(`${h.sf.url}/_sandbox/requests`, { method: 'DELETE' });
}

export async function readCounts(h: DualCrmHarness): Promise<VendorCounts> {
  const [pc, dv, sf] = await Promise.all([
    json<RequestCounts>(`${h.pc.url}/_sandbox/requests`),
    json<RequestCounts>(`${h.dv.url}/_sandbox/requests`),
    json<RequestCounts>(`${h.sf.url}/_sandbox/requests`),
  ]);
  const routes = Object.fromEntries(Object.entries(sf.routes).filter(([route]) => !route.includes('/cometd')));
  return { pc, dv, sf: { total: Object.values(routes).reduce((sum, n) => sum + n, 0), routes } };
}

/** Creates `count` incoming referrals in the Partner Center sandbox (its seed route takes at most 10,000 per call). */
export async function seedReferrals(h: DualCrmHarness, count: number, events: boolean): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < count; ) {
    const batch = Math.min(10_000, count - done);
    const body = await json<{ ids: string[] }>(`${h.pc.url}/_sandbox/referrals/seed`, sendJson('POST', { count: batch, events, microsoftSide: false }));
    ids.push(...body.ids);
    done += batch;
  }
  return ids;
}

/** Opportunities per referral id in each CRM, read through the sandboxes' uncounted control API. */
export async function linkedOpportunities(h: DualCrmHarness): Promise<{ dv: Map<string, Record<string, unknown>>; sf: Map<string, Record<string, unknown>> }> {
  const byReferral = (rows: Array<Record<string, unknown>>, field: string) =>
    new Map(
      rows.flatMap((row) => {
        const id = row[field];
        return typeof id === 'string' && id !== '' ? [[id, row] as const] : [];
      }),
    );
  const [dv, sf] = await Promise.all([h.dvOpportunities(['opportunityid', 'cosell_referralidentifier']), h.sfOpportunities(['Id', 'Referral_Identifier__c'])]);
  return { dv: byReferral(dv, 'cosell_referralidentifier'), sf: byReferral(sf, 'Referral_Identifier__c') };
}

/** Peak resident set of a process (Linux VmHWM), in MB; NaN elsewhere. */
export function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) a process has used so far (Linux /proc); NaN elsewhere. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ, 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
