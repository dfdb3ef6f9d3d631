import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level?: string;
  /** `true` forces human-readable output, `false` forces JSON, `undefined` picks pretty for a TTY. */
  pretty?: boolean | undefined;
  name?: string;
  /**
   * `stdout` (default) for the service, whose log is its output; `stderr` for one-shot commands, whose stdout is their
   * result (JSON with --json) and must hold nothing else.
   */
  destination?: 'stdout' | 'stderr';
}

/**
 * Anything that could carry a secret is redacted at the logger, so a careless `log.info({ headers })`
 * cannot leak a bearer token or a webhook signature.
 */
const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  '*.*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-ms-signature"]',
  'headers["x-ms-signature"]',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'clientSecret',
  '*.clientSecret',
  'password',
  '*.password',
  'token',
  '*.token',
];

export function createLogger(settings: LoggerSettings = {}): Logger {
  const stream = settings.destination === 'stderr' ? process.stderr : process.stdout;
  const pretty = settings.pretty ?? (stream.isTTY === true && process.env.CI !== 'true');
  const options: LoggerOptions = {
    level: settings.level ?? process.env.COSELL_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: settings.name ? { component: settings.name } : { pid: process.pid },
  };
  const fd = settings.destination === 'stderr' ? 2 : 1;
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: fd } },
    });
  }
  return fd === 1 ? pino(options) : pino(options, pino.destination({ dest: fd, sync: true }));
}

/** A logger that discards everything: tests and benchmarks pass it where output would be noise. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
