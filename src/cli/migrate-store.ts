import type { Command } from 'commander';
import { resolveSecret } from '../config/secrets.ts';
import { MigrateStoreRefusedError, migrateStore, type TableProgress } from '../store/migrate-store.ts';
import { UsageError } from './errors.ts';
import { printResult } from './output.ts';

const DESCRIPTION = 'copy a SQLite store into an empty PostgreSQL database, in one transaction (all or nothing)';

export function registerMigrateStoreCommand(program: Command): void {
  program
    .command('migrate-store')
    .description(DESCRIPTION)
    .requiredOption('--from <source>', 'sqlite:<path> of the store to copy (stop the service first)')
    .requiredOption(
      '--to <target>',
      'postgres:<url>, or postgres:env:NAME / postgres:file:/path naming where the URL is (keeps its password out of the process list)',
    )
    .option('--json', 'print a JSON summary on stdout')
    .addHelpText('after', '\nExit codes: 0 copied; 2 refused (target not empty, no store, bad arguments), nothing written; 1 failed, nothing written.')
    .action(async (options: { from: string; to: string; json?: boolean }) => {
      const sqlitePath = parseSource(options.from);
      const postgresUrl = await parseTarget(options.to);
      const progress = progressPrinter();
      let result;
      try {
        result = await migrateStore({
          sqlitePath,
          postgresUrl,
          onProgress: progress,
          log: (level, message) => process.stderr.write(`${level}: ${message}\n`),
        });
      } catch (error) {
        if (error instanceof MigrateStoreRefusedError) throw new UsageError(error.message);
        throw error;
      }
      printResult(options.json === true, result, () => {
        const tables = Object.entries(result.tables).map(([table, rows]) => `${table} ${rows}`).join(', ');
        return `copied ${result.from} into ${result.to} in ${result.durationMs} ms: ${tables}`;
      });
    });
}

/** `sqlite:<path>`: the prefix is required, so a swapped --from/--to is caught rather than guessed. */
export function parseSource(value: string): string {
  if (!value.startsWith('sqlite:') || value.length === 'sqlite:'.length) throw new UsageError(`--from expects sqlite:<path>, got "${value}"`);
  return value.slice('sqlite:'.length);
}

/**
 * `postgres:<url>` (a bare postgres:// or postgresql:// URL too), or `postgres:env:NAME` / `postgres:file:/path`: a
 * secret reference holding the URL. Errors never repeat the value, which may hold a password.
 */
export async function parseTarget(value: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const isUrl = (text: string): boolean => /^postgres(ql)?:\/\//.test(text);
  let url: string;
  if (isUrl(value)) url = value;
  else if (value.startsWith('postgres:')) {
    const rest = value.slice('postgres:'.length);
    if (rest.startsWith('env:') || rest.startsWith('file:')) url = await resolveSecret(rest as `env:${string}` | `file:${string}`, { env, setting: '--to' });
    else url = rest;
  } else {
    throw new UsageError('--to expects postgres:<url>, postgres:env:NAME or postgres:file:/path');
  }
  if (!isUrl(url) || !URL.canParse(url)) throw new UsageError('--to: not a postgres:// or postgresql:// URL');
  return url;
}

/** Progress on stderr: a counter redrawn in place on a terminal, else one line per table when it is done. */
function progressPrinter(): (progress: TableProgress) => void {
  const tty = process.stderr.isTTY === true;
  return ({ table, copied, total }) => {
    const done = copied === total;
    if (tty) process.stderr.write(`\r\x1b[2K${table}: ${copied}/${total} rows${done ? '\n' : ''}`);
    else if (done) process.stderr.write(`${table}: ${copied} rows\n`);
  };
}
