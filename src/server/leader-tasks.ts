import type { Leadership } from '../store/leadership.ts';
import type { Logger } from '../util/logger.ts';

/** Periodic work one instance of a cluster does (retention, alerts, the registration check): started, then stopped. */
export interface LeaderTask {
  name: string;
  start(): { stop(): Promise<void> };
}

export interface LeaderTasks {
  /** The tasks running now (for tests and logs). */
  running(): string[];
  /** Stops following leadership and stops whatever runs; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Runs `tasks` while `leadership` says this instance leads, and stops them the moment it stops leading, so that two
 * instances never both compact the store or both send the same alert. Starts and stops are applied one after the
 * other (a quick lose-and-regain waits for the stop to finish before starting again).
 */
export function runWhileLeader(leadership: Leadership, tasks: readonly LeaderTask[], logger: Logger): LeaderTasks {
  let handles: { name: string; stop(): Promise<void> }[] = [];
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();

  const startAll = (): void => {
    if (stopped || handles.length > 0) return;
    for (const task of tasks) {
      try {
        handles.push({ name: task.name, ...task.start() });
      } catch (error) {
        logger.error({ err: error, task: task.name }, 'a leader task failed to start');
      }
    }
    if (tasks.length > 0) logger.info({ tasks: tasks.map((t) => t.name) }, 'leading: singleton tasks started');
  };
  const stopAll = async (): Promise<void> => {
    const stopping = handles;
    handles = [];
    for (const handle of stopping) {
      await handle.stop().catch((error: unknown) => logger.error({ err: error, task: handle.name }, 'a leader task failed to stop'));
    }
    if (stopping.length > 0) logger.info({ tasks: stopping.map((t) => t.name) }, 'singleton tasks stopped');
  };
  const apply = (leader: boolean): void => {
    chain = chain.then(() => (leader ? startAll() : stopAll()));
  };

  const unsubscribe = leadership.onChange(apply);
  // Already leading (LocalLeadership started before us, or a fast campaign): start now.
  if (leadership.isLeader) apply(true);

  return {
    running: () => handles.map((h) => h.name),
    async stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      chain = chain.then(stopAll);
      await chain;
    },
  };
}
