import type { DualCrmHarness } from './dual-crm-harness.ts';
import { detailsOf, json, sleep, waitFor, type RequestCounts, type Row } from './service-harness.ts';

/*
 * What one steady-state change of a linked pair costs in vendor calls, with both CRMs connected (issue 12): a Microsoft
 * seller's change in Partner Center, a Dynamics seller's, a Salesforce seller's, each counted by the sandboxes' request
 * counters from the change until the service is idle again, the echoes of our own writes included. Shared by
 * `npm run bench:per-change` (prints the table) and the e2e test that asserts the counts.
 */

export interface ChangeCounts {
  pc: RequestCounts;
  dv: RequestCounts;
  /** CometD (CDC long polls, handshakes) left out: neither reads nor writes a change costs. */
  sf: RequestCounts;
}

export interface LinkedPair {
  referralId: string;
  dvId: string;
  sfId: string;
}

export type ChangeKind = 'partner-center' | 'dynamics' | 'salesforce';

export const CHANGE_KINDS: readonly ChangeKind[] = ['partner-center', 'dynamics', 'salesforce'];

async function resetCounts(h: DualCrmHarness): Promise<void> {
  await Promise.all([h.pc.url, h.dv.url, h.sf.url].map((url) => json(`${url}/_sandbox/requests`, { method: 'DELETE' })));
}

async function readCounts(h: DualCrmHarness): Promise<ChangeCounts> {
  const [pc, dv, sf] = await Promise.all([h.pc.url, h.dv.url, h.sf.url].map((url) => json<RequestCounts>(`${url}/_sandbox/requests`)));
  const routes = Object.fromEntries(Object.entries(sf!.routes).filter(([route]) => !route.includes('/cometd')));
  return { pc: pc!, dv: dv!, sf: { total: Object.values(routes).reduce((sum, n) => sum + n, 0), routes } };
}

/**
 * Idle, and still idle a moment later: a CDC event of our own Salesforce write travels over a long poll the idle
 * check cannot see, so one look is not enough.
 */
async function settle(h: DualCrmHarness): Promise<void> {
  await h.waitForIdle(60_000);
  await sleep(400);
  await h.waitForIdle(60_000);
}

/**
 * A Microsoft co-sell referral linked in both CRMs and accepted by the partner (an unaccepted invitation takes no CRM
 * edit), with the service idle. `body` is deep-merged over the sandbox's realistic defaults.
 */
export async function linkedPair(h: DualCrmHarness, body: Row = {}): Promise<LinkedPair> {
  const { id: referralId } = await h.incomingReferral(body);
  const dv = await waitFor('the Dynamics opportunity', async () => (await h.dvOpportunities()).find((o) => o.cosell_referralidentifier === referralId), 30_000);
  const sf = await waitFor('the Salesforce opportunity', async () => (await h.sfOpportunities()).find((o) => o.Referral_Identifier__c === referralId), 30_000);
  await settle(h);
  if ((await h.referral(referralId))?.status !== 'Active') await h.pcPartnerAccept(referralId);
  await settle(h);
  return { referralId, dvId: String(dv.opportunityid), sfId: String(sf.Id) };
}

/** Makes one change of `kind` (tagged `n`), waits until the other systems show it and the service is idle, and counts. */
export async function countOneChange(h: DualCrmHarness, pair: LinkedPair, kind: ChangeKind, n: number): Promise<ChangeCounts> {
  await settle(h);
  await resetCounts(h);
  if (kind === 'partner-center') {
    const value = 500_000 + n;
    await h.pcSellerEdit(pair.referralId, { details: { dealValue: value } });
    await waitFor('the deal value in both CRMs', async () => {
      const [dv, sf] = await Promise.all([h.dvOpportunities(), h.sfOpportunities()]);
      return dv.find((o) => o.opportunityid === pair.dvId)?.estimatedvalue === value && sf.find((o) => o.Id === pair.sfId)?.Amount === value;
    }, 30_000);
  } else {
    const text = `per-change ${kind} ${n}`;
    if (kind === 'dynamics') await h.dvSellerEdit('opportunities', pair.dvId, { description: text });
    else await h.sfSellerEdit('Opportunity', pair.sfId, { Description: text });
    await waitFor('the notes in Partner Center', async () => detailsOf(await h.referral(pair.referralId)).notes === text, 30_000);
  }
  await settle(h);
  return readCounts(h);
}

/** Calls of one route, or of every route matching `pattern`. */
export function callsTo(counts: RequestCounts, pattern: string | RegExp): number {
  return Object.entries(counts.routes)
    .filter(([route]) => (typeof pattern === 'string' ? route === pattern : pattern.test(route)))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** One line per vendor and route, `calls` averaged over the changes counted. */
export function formatCounts(title: string, runs: readonly ChangeCounts[]): string[] {
  const lines = [`${title} (${runs.length} change${runs.length === 1 ? '' : 's'}, calls per change)`];
  for (const vendor of ['pc', 'dv', 'sf'] as const) {
    const label = { pc: 'Partner Center', dv: 'Dataverse', sf: 'Salesforce' }[vendor];
    const routes = new Map<string, number>();
    for (const run of runs) for (const [route, n] of Object.entries(run[vendor].routes)) routes.set(route, (routes.get(route) ?? 0) + n);
    const total = [...routes.values()].reduce((a, b) => a + b, 0) / runs.length;
    lines.push(`  ${label.padEnd(15)} ${total.toFixed(2).padStart(6)}`);
    for (const [route, n] of [...routes].sort(([a], [b]) => a.localeCompare(b))) lines.push(`    ${(n / runs.length).toFixed(2).padStart(6)}  ${route}`);
  }
  return lines;
}
