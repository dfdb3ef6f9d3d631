import { createLogger, type Logger } from '../util/logger.ts';

/** Command results go to stdout (JSON with --json, else readable text); logs and diagnostics go to stderr. */
export function printResult(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/**
 * The logger of a one-shot command: on stderr, so stdout holds only the result, and at `warn` where the service would log
 * at `info` (another configured level, or COSELL_LOG_LEVEL, is kept): the command's summary is
 * what an operator reads, not progress lines scrolling it away.
 */
export function commandLogger(log: { level: string; pretty?: boolean | undefined }): Logger {
  const level = log.level === 'info' ? 'warn' : log.level;
  return createLogger({ level: process.env.COSELL_LOG_LEVEL ?? level, pretty: log.pretty, destination: 'stderr' });
}
