import type { Logger } from '../util/logger.ts';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * How long a graceful stop may take after SIGINT/SIGTERM. Under systemd's default TimeoutStopSec (90 s) and long
 * enough for an in-flight vendor call to finish; a stop that hangs beyond it (a socket that never answers) would
 * otherwise keep a dead instance around until the supervisor SIGKILLs it, with nothing in the log saying why.
 */
export const SHUTDOWN_GRACE_MS = 30_000;

/** Resolves on the first SIGINT/SIGTERM so the caller can shut down in order (stop intake, flush the inbox, close). */
export function untilSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
      for (const name of SIGNALS) process.off(name, onSignal);
      resolve();
    };
    for (const name of SIGNALS) process.on(name, onSignal);
  });
}

/**
 * Runs the graceful stop, bounded: a second signal or the grace period ends the process at once (exit code 1),
 * naming the step that was still running. Every write the service acknowledged is already committed, so an
 * unfinished stop loses nothing; the next start resumes leased jobs.
 */
export async function stopWithin(close: () => Promise<void>, logger: Logger, step: () => string, graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
  const giveUp = (reason: string) => {
    logger.error({ step: step(), graceMs }, `graceful stop abandoned (${reason}); exiting`);
    process.exit(1);
  };
  const onSecondSignal = (signal: NodeJS.Signals) => giveUp(`second ${signal}`);
  for (const name of SIGNALS) process.once(name, onSecondSignal);
  const timer = setTimeout(() => giveUp(`still running after ${graceMs / 1000} s`), graceMs);
  timer.unref();
  try {
    await close();
  } finally {
    clearTimeout(timer);
    for (const name of SIGNALS) process.off(name, onSecondSignal);
  }
}
