import type { ServiceHarness } from './service-harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface KillTrialsOptions {
  harness: ServiceHarness;
  trials: number;
  /** Seeded: decides when each kill lands and how many changes happen while the service is down. */
  killRandom: () => number;
  /** Seeded: the pauses between changes. */
  random: () => number;
  /** One change by a seller on either side (whatever the test streams). */
  act: () => Promise<void>;
}

/**
 * SIGKILL trials: the (child-process) service runs while `act` streams changes with 10–70 ms pauses; after 150–1650 ms
 * it is killed wherever it happens to be, 0–2 more changes arrive while it is down, and it is started again for the
 * next trial. Leaves the service down after the last trial.
 */
export async function runKillTrials(options: KillTrialsOptions): Promise<{ killDelays: number[]; actionsWhileDown: number }> {
  const { harness, killRandom, random, act } = options;
  const killDelays: number[] = [];
  let actionsWhileDown = 0;
  for (let trial = 0; trial < options.trials; trial++) {
    if (!harness.running) await harness.startService();
    const killAfter = 150 + Math.floor(killRandom() * 1_500);
    killDelays.push(killAfter);
    const deadline = Date.now() + killAfter;
    let killed = false;
    // The stream and the kill race: the kill lands wherever the service happens to be.
    const stream = (async () => {
      while (!killed) {
        await act();
        await sleep(10 + Math.floor(random() * 60));
      }
    })();
    await sleep(Math.max(0, deadline - Date.now()));
    await harness.killService();
    killed = true;
    await stream;
    // Changes keep coming while the service is down: Partner Center retries its webhooks, CRMs notify or keep events.
    const whileDown = Math.floor(killRandom() * 3);
    for (let i = 0; i < whileDown; i++) await act();
    actionsWhileDown += whileDown;
  }
  return { killDelays, actionsWhileDown };
}
