import type { Command } from 'commander';

/**
 * Every top-level command, with the module that defines it loaded only when that command runs: `cosell --help` and
 * `cosell --version` load no vendor SDK, sandbox or HTTP server (the compiled CLI answers them in a fraction of a
 * second). The summaries repeat the modules' own descriptions for the top-level help; test/unit/cli/commands.test.ts
 * fails when the two drift apart.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  /** Registers this command (and any sibling the same module defines) on the program. */
  readonly register: () => Promise<(program: Command) => void>;
  /** The command runs the sandboxes: should a package of theirs be missing (a trimmed install), say so instead of a stack. */
  readonly needsDevDependencies?: boolean;
  /**
   * A person runs it and waits: vendor calls get the short interactive limits and no retry after a timeout, so a host
   * that never answers fails in seconds (src/http/outbound.ts, INTERACTIVE_HTTP_TIMEOUTS). Not for the service.
   */
  readonly interactive?: boolean;
}

const operate = async () => (await import('./operate.ts')).registerOperatorCommands;

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'init',
    interactive: true,
    summary: 'write a commented cosell.yaml for Dynamics and/or Salesforce, then check it against the CRM',
    register: async () => (await import('./init.ts')).registerInitCommand,
  },
  {
    name: 'start',
    summary: 'run the sync service (webhook ingress, admin API, dashboard, metrics)',
    register: async () => (await import('./start.ts')).registerStartCommand,
  },
  {
    name: 'sandbox',
    summary: "run local sandboxes that speak the vendors' wire protocols (partner-center, dataverse, salesforce; default: all)",
    register: async () => (await import('./sandbox.ts')).registerSandboxCommand,
    needsDevDependencies: true,
  },
  {
    name: 'webhooks',
    interactive: true,
    summary: 'manage the Partner Center webhook registration',
    register: async () => (await import('./webhooks.ts')).registerWebhooksCommand,
  },
  {
    name: 'dev',
    summary: 'sandbox mode: run the sandboxes and the service together, registered and seeded (what npm start runs)',
    register: async () => (await import('./dev.ts')).registerDevCommand,
    needsDevDependencies: true,
  },
  {
    name: 'setup',
    interactive: true,
    summary: 'prepare a CRM for syncing (custom fields, keys, change notifications)',
    register: async () => (await import('./setup.ts')).registerSetupCommand,
  },
  {
    name: 'solutions',
    interactive: true,
    summary: "manage the partner's Microsoft Solutions catalogue in the CRM",
    register: async () => (await import('./solutions.ts')).registerSolutionsCommand,
  },
  {
    name: 'mapping',
    interactive: true,
    summary: 'check and preview field mappings',
    register: async () => (await import('./mapping.ts')).registerMappingCommand,
  },
  { name: 'status', summary: 'queue depth, last sync, dead letters and conflicts of the running service', register: operate },
  { name: 'dead-letters', summary: 'syncs that failed for good (validation, rejected data), newest first; closed when the pair syncs again', register: operate },
  { name: 'conflicts', summary: 'fields held by a `manual` conflict policy until resolved or the sides agree', register: operate },
  { name: 'sync', summary: 'sync records now', register: operate },
  {
    name: 'reconcile',
    summary: 'list what changed on every side (since the watermark, or --since) and queue it; shows progress in the service log',
    register: operate,
  },
  {
    name: 'backup',
    summary: "copy the store to a file while the service runs (a consistent snapshot, mode 0600)",
    register: async () => (await import('./backup.ts')).registerBackupCommand,
  },
  {
    name: 'migrate-store',
    summary: 'copy a SQLite store into an empty PostgreSQL database, in one transaction (all or nothing)',
    register: async () => (await import('./migrate-store.ts')).registerMigrateStoreCommand,
  },
];

/** The command named on the command line (`cosell start …`, `cosell help start`), if any: global options take no value. */
export function requestedCommand(args: readonly string[]): string | undefined {
  const operands = args.filter((a) => !a.startsWith('-'));
  const [first, second] = operands;
  return first === 'help' ? second : first;
}
