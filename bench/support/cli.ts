import { Command, InvalidArgumentError } from 'commander';

/*
 * The benchmarks' command lines, parsed by commander (already a dependency of the CLI) so every bench validates its
 * numbers the same way and prints the same --help. Figures are printed, never asserted: a bench exits 0 whatever
 * its verdict, and non-zero only when it could not measure.
 */

function parseNumber(value: string, check: (n: number) => boolean, expected: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`expected ${expected}, got "${value}"`);
  return n;
}

/** Option parser: a finite number ≥ 0 (milliseconds, seconds, rates). */
export const nonNegative = (value: string): number => parseNumber(value, (n) => n >= 0, 'a number ≥ 0');

/** Option parser: an integer ≥ 1 (counts: runs, pairs, connections). */
export const positiveInteger = (value: string): number => parseNumber(value, (n) => Number.isInteger(n) && n >= 1, 'an integer ≥ 1');

export type ServiceLogLevel = 'error' | 'warn' | 'info';

/** The options every bench that runs the service against the sandboxes shares. */
export interface SandboxBenchOptions {
  /** Milliseconds added to every sandbox API call while measuring (the sandboxes' latencyMs fault). */
  latency: number;
  /** The service's sync.concurrency. */
  concurrency: number;
  /** How often the bench polls what it observes, in ms (benches that poll). */
  poll: number;
  /** The service's log level (child process; its output is shown only when it is not `error`). */
  log: ServiceLogLevel;
}

export interface RepeatedOptions {
  /** How many measured runs; the verdict comes from their median. */
  runs: number;
}

/**
 * A bench command line with the shared options; `defaults` are per bench (a backfill polls less often than sync);
 * without a `poll` default there is no --poll.
 */
export function benchCommand(name: string, description: string, defaults: { latency: number; concurrency: number; poll?: number }): Command {
  const command = new Command(name)
    .description(description)
    .allowExcessArguments(false)
    .showHelpAfterError()
    .option('--latency <ms>', 'milliseconds added to every sandbox API call while measuring', nonNegative, defaults.latency)
    .option('--concurrency <n>', "the service's sync.concurrency", positiveInteger, defaults.concurrency);
  if (defaults.poll !== undefined) command.option('--poll <ms>', 'how often the bench polls what it observes', nonNegative, defaults.poll);
  return command.option('--log <level>', "the service's log level: error, warn or info (shown when not error)", (value: string) => {
      if (value !== 'error' && value !== 'warn' && value !== 'info') throw new InvalidArgumentError('expected error, warn or info');
      return value;
    }, 'error');
}

/** Adds `--runs` (default 5). */
export function withRuns(command: Command, defaultRuns = 5): Command {
  return command.option('--runs <n>', 'measured runs; the verdict comes from their median', positiveInteger, defaultRuns);
}
