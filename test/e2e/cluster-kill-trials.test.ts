import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClusterKillTrials } from '../support/cluster-kill-trials.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/*
 * The fast subset of `npm run bench:cluster-kill`: three instances on one PostgreSQL database, a random one SIGKILLed
 * every few seconds (and restarted) during a small burst of incoming referrals and CRM edits. Nothing lost, nothing
 * duplicated, every deal's last edit everywhere, the queue drained by the survivors, and every leader kill followed by
 * a survivor's CDC takeover (the times are printed, not asserted). Seeded; replay with KILL_SEED=<seed>.
 */

const SEED = Number(process.env.KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('SIGKILL trials on a three-instance cluster', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('cosell_cluster_kill');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('loses, duplicates and reorders nothing, and a survivor takes the CRMs over', async () => {
    console.info(`cluster-kill-trials: seed ${SEED} (replay with KILL_SEED=${SEED})`);
    const result = await runClusterKillTrials({
      databaseUrl: db.url,
      trials: 3,
      seed: SEED,
      incoming: 40,
      edits: 12,
      deals: 4,
      firstKillLeader: true,
      log: (line) => console.info(`cluster-kill-trials: ${line}`),
    });
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, deadLetters: 0, queuedAtEnd: 0 });
    expect(result.incoming).toBe(40);
    expect(result.trials.some((t) => t.wasLeader)).toBe(true);
    for (const trial of result.trials.filter((t) => t.wasLeader)) expect(trial.cdcTakeoverMs).toBeDefined();
  }, 600_000);
});
