import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level?: string;
  /** `true` forces human-readable output, `false` forces JSON, `undefined` picks pretty for a TTY. */
  pretty?: boolean | undefined;
  name?: string;
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
  const pretty = settings.pretty ?? (process.stdout.isTTY === true && process.env.CI !== 'true');
  const options: LoggerOptions = {
    level: settings.level ?? process.env.COSELL_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: settings.name ? { component: settings.name } : { pid: process.pid },
  };
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino(options);
}

/** A logger that discards everything: tests and benchmarks pass it where output would be noise. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
