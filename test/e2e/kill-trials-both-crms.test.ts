import { describe, expect, it } from 'vitest';
import { runDualKillTrials } from '../support/dual-kill-trials.ts';

/*
 * The fast subset of `npm run bench:kill-trials`: a few SIGKILL trials with Dynamics and Salesforce connected and
 * 150 ms Partner Center latency (the setting that produced duplicates). Nothing lost, nothing duplicated, every "CRM ID"
 * the record the deal was born in, no dead letters. Seeded; replay with KILL_SEED=<seed>.
 */

const SEED = Number(process.env.KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('SIGKILL trials with both CRMs connected', () => {
  it('loses, duplicates and misattributes nothing', async () => {
    console.info(`kill-trials-both-crms: seed ${SEED} (replay with KILL_SEED=${SEED})`);
    const result = await runDualKillTrials({ trials: 3, seed: SEED, pcLatencyMs: 150 });
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, wrongCrmId: 0, deadLetters: 0 });
    expect(result.crmDeals).toBeGreaterThan(0);
  }, 600_000);
});
