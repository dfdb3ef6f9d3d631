import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { MicrosoftSolutionsApi } from '../crm/solutions.ts';
import type { Logger } from '../util/logger.ts';
import { UsageError } from './errors.ts';
import { commandLogger, printResult } from './output.ts';
import { readSolutionsFile, type SolutionsFileProblem } from './solutions-file.ts';

type CrmKind = 'dynamics' | 'salesforce';

/** The CRM named by --crm, or the only one configured. */
function chooseCrm(config: Config, requested: string | undefined): CrmKind {
  if (requested !== undefined) {
    if (requested !== 'dynamics' && requested !== 'salesforce') throw new UsageError(`--crm must be dynamics or salesforce, not "${requested}"`);
    if (!config[requested]) throw new UsageError(`--crm ${requested}: the configuration has no "${requested}" section`);
    return requested;
  }
  const configured = (['dynamics', 'salesforce'] as const).filter((kind) => config[kind] !== undefined);
  if (configured.length === 1 && configured[0]) return configured[0];
  if (configured.length === 0) throw new UsageError('the configuration has neither a "dynamics" nor a "salesforce" section');
  throw new UsageError('both Dynamics and Salesforce are configured: choose one with --crm dynamics|salesforce');
}

/** The connector's Microsoft Solutions API, and how to let go of the connection afterwards. */
async function solutionsApi(config: Config, kind: CrmKind, logger: Logger): Promise<{ api: MicrosoftSolutionsApi; close: () => Promise<void> }> {
  if (kind === 'dynamics' && config.dynamics) {
    const { createDynamicsConnector } = await import('../crm/dynamics/factory.ts');
    const connector = await createDynamicsConnector(config.dynamics, { logger });
    // Dataverse calls are plain HTTPS requests: nothing to close.
    return { api: connector.solutions, close: async () => undefined };
  }
  if (kind === 'salesforce' && config.salesforce) {
    const { createSalesforceConnector } = await import('../crm/salesforce/index.ts');
    const connector = await createSalesforceConnector(config.salesforce, { logger });
    return { api: connector.solutions, close: async () => connector.close?.() };
  }
  throw new UsageError(`no "${kind}" section in the configuration`);
}

function describeProblems(file: string, problems: readonly SolutionsFileProblem[]): string {
  const shown = problems.slice(0, 50).map((problem) => `  ${problem.where ? `${problem.where}: ` : ''}${problem.message}`);
  const more = problems.length > shown.length ? [`  … and ${problems.length - shown.length} more`] : [];
  return [`${file}: nothing imported, ${problems.length} problem${problems.length === 1 ? '' : 's'}:`, ...shown, ...more].join('\n');
}

/** Prints "imported n/total" to stderr at most every 10 % (and at the end), so a long import shows it is moving. */
function progressPrinter(enabled: boolean): (done: number, total: number) => void {
  let lastShown = -1;
  return (done, total) => {
    if (!enabled || total === 0) return;
    const step = Math.max(1, Math.ceil(total / 10));
    if (done !== total && done - lastShown < step) return;
    lastShown = done;
    process.stderr.write(`imported ${done}/${total}\n`);
  };
}

export function registerSolutionsCommand(program: Command): void {
  const solutions = program.command('solutions').description("manage the partner's Microsoft Solutions catalogue in the CRM");
  solutions
    .command('import <file>')
    .description('load solutions from a .csv or .xlsx file (header row: Solution ID, Name, Co-sell ready) into the CRM catalogue; checks every row first and imports nothing if one is bad')
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .option('--crm <kind>', 'dynamics or salesforce (needed when both are configured)')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { config?: string; crm?: string; json?: boolean }) => {
      const { config } = await loadConfig(options.config);
      const kind = chooseCrm(config, options.crm);
      let read;
      try {
        read = await readSolutionsFile(file);
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (!read.ok) {
        if (options.json === true) printResult(true, { imported: false, crm: kind, problems: read.problems }, () => '');
        throw new UsageError(describeProblems(file, read.problems));
      }
      const logger = commandLogger(config.log);
      const { api, close } = await solutionsApi(config, kind, logger);
      try {
        const result = await api.upsert(read.solutions, progressPrinter(options.json !== true));
        printResult(options.json === true, { imported: true, crm: kind, ...result }, () =>
          [
            `${kind}: ${read.solutions.length} solution${read.solutions.length === 1 ? '' : 's'} in ${file}`,
            `Created   (${result.created.length}): ${result.created.join(', ') || '-'}`,
            `Updated   (${result.updated.length}): ${result.updated.join(', ') || '-'}`,
            `Unchanged (${result.unchanged.length})`,
          ].join('\n'),
        );
      } finally {
        await close();
      }
    });
  solutions
    .command('list')
    .description('print the Microsoft Solutions catalogue held in the CRM')
    .option('-c, --config <file>', 'configuration file (default: ./cosell.yaml, else sandbox mode)')
    .option('--crm <kind>', 'dynamics or salesforce (needed when both are configured)')
    .option('--json', 'print JSON')
    .action(async (options: { config?: string; crm?: string; json?: boolean }) => {
      const { config } = await loadConfig(options.config);
      const kind = chooseCrm(config, options.crm);
      const logger = commandLogger(config.log);
      const { api, close } = await solutionsApi(config, kind, logger);
      try {
        const list = await api.list();
        printResult(options.json === true, { crm: kind, solutions: list }, () =>
          list.length === 0
            ? `${kind}: the Microsoft Solutions catalogue is empty (load it with "cosell solutions import <file>")`
            : [`${kind}: ${list.length} Microsoft solution${list.length === 1 ? '' : 's'}`, ...list.map((s) => `  ${s.solutionId}  ${s.coSellReady ? 'co-sell ready' : 'not co-sell ready'}  ${s.name}`)].join('\n'),
        );
      } finally {
        await close();
      }
    });
}
