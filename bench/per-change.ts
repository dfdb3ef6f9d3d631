/**
 * Vendor calls per steady-state change of a linked pair, both CRMs connected as `npm start` runs them (issue 12):
 *   Partner Center   a Microsoft seller changes the referral's dealValue (reaches both CRMs);
 *   Dynamics         a Dynamics seller edits the opportunity's description (reaches the referral's notes);
 *   Salesforce       a Salesforce seller edits Description (arrives through CDC; same).
 * Each change is counted by the sandboxes' request counters from the change until the service is idle again, the
 * echoes of our own writes included, and printed per vendor and route, averaged over --changes changes of each kind,
 * for a co-sell deal (Microsoft's side and solutions) and a private one. Counts depend on what came before: a Dynamics
 * or Salesforce change after a Microsoft seller's change reads the referral, after our own write it does not; a
 * Partner Center change reads the Dataverse record when a seller changed it less than a minute before our last commit
 * (see src/sync/run/blind-crm-write.ts).
 *
 *   npm run bench:per-change [-- --changes 3 --deals both]
 *
 * Counts, not timings: the machine's load does not change them (it is printed anyway). Figures are printed, never
 * asserted (test/e2e/per-change-calls.test.ts asserts them).
 */
import { benchCommand, positiveInteger, type SandboxBenchOptions } from './support/cli.ts';
import { log, startDualService } from './support/dual.ts';
import { loadNote } from './support/stats.ts';
import { CHANGE_KINDS, countOneChange, formatCounts, linkedPair, type ChangeCounts } from '../test/support/per-change.ts';

type Kinds = 'co-sell' | 'private' | 'both';
const options = benchCommand('bench:per-change', 'vendor calls per steady-state change of a linked pair, both CRMs connected', { latency: 0, concurrency: 8 })
  .option('--changes <n>', 'changes of each kind counted (averaged)', positiveInteger, 3)
  .option('--deals <kind>', 'co-sell (Microsoft shares it), private (no Microsoft side) or both', (value: string): Kinds => {
    if (value !== 'co-sell' && value !== 'private' && value !== 'both') throw new Error('--deals must be co-sell, private or both');
    return value;
  }, 'both' as Kinds)
  .parse()
  .opts<SandboxBenchOptions & { changes: number; deals: Kinds }>();

log(`bench:per-change — ${options.changes} change(s) of each kind, both CRMs connected`);
const h = await startDualService(options);
try {
  const deals: Array<{ title: string; body: Record<string, unknown> }> = [];
  if (options.deals !== 'private') deals.push({ title: 'co-sell referral (Shared)', body: {} });
  // Microsoft's sandbox may still invite the partner to a deal it keeps to itself: no solutions, no Microsoft side.
  if (options.deals !== 'co-sell') deals.push({ title: 'private referral (Independent)', body: { type: 'Independent', status: 'Active', substatus: 'Accepted', target: [] } });
  for (const deal of deals) {
    log(`linking a ${deal.title} in both CRMs…`);
    const pair = await linkedPair(h, deal.body);
    // Not counted: the pair's first change after linking also syncs what the link left for later (a co-sell deal's
    // solutions), which is no steady-state cost.
    await countOneChange(h, pair, 'partner-center', options.changes);
    console.log(`\n${deal.title}: ${pair.referralId} ↔ Dataverse ${pair.dvId} ↔ Salesforce ${pair.sfId}`);
    for (const kind of CHANGE_KINDS) {
      const runs: ChangeCounts[] = [];
      for (let n = 0; n < options.changes; n++) runs.push(await countOneChange(h, pair, kind, n));
      for (const line of formatCounts(`${kind} change`, runs)) console.log(line);
    }
  }
  console.log(`\n${loadNote()}`);
} finally {
  await h.close();
}
