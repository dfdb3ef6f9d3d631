/** What `cosell init` asked, or took from flags. */
export interface InitAnswers {
  sandbox: boolean;
  crms: Array<'dynamics' | 'salesforce'>;
  port: number;
  publicUrl: string;
  /** Sandbox only. */
  partnerCenterUrl?: string;
  /** Production only. */
  tenantId?: string;
  partnerCenterClientId?: string;
  dynamics?: { url: string; clientId?: string };
  salesforce?: { url: string; clientId?: string };
}

/** JSON strings are valid YAML scalars: whatever was typed cannot break the file's structure. */
const q = (value: string): string => JSON.stringify(value);

/**
 * The commented cosell.yaml `cosell init` writes. Secrets are references to environment variables (never values);
 * everything not asked for keeps its default and is listed commented out where an operator is likely to change it.
 */
export function renderConfig(answers: InitAnswers, paths: { rootCertificate: string }): string {
  const pcHost = answers.partnerCenterUrl ? new URL(answers.partnerCenterUrl).host : undefined;
  const lines: string[] = [
    '# cosell-sync configuration, written by `cosell init`. Reference: README.md, "Configuration".',
    '# Secrets are references (env:NAME or file:/path), never values. Relative paths are relative to this file.',
    '# Any setting can be overridden from the environment: COSELL__server__port=4200 sets server.port.',
    '',
    'server:',
    '  # 0.0.0.0 to accept connections from other hosts (a reverse proxy terminating TLS usually sits in front).',
    '  host: 127.0.0.1',
    `  port: ${answers.port}`,
    '  # Where Partner Center and the CRM send their notifications.',
    `  publicUrl: ${q(answers.publicUrl)}`,
    '',
    'store:',
    '  # SQLite database: back it up with `cosell backup FILE` (safe while the service runs).',
    '  path: data/cosell.db',
    '  # retention: { inboxDays: 30, inboxMaxEvents: 1000000, auditDays: 365, resolvedDeadLetterDays: 90, intervalMinutes: 60 }',
    '  # Several instances share one PostgreSQL database instead (README, "Several instances on PostgreSQL"):',
    '  #   driver: postgres',
    '  #   url: env:COSELL_DATABASE_URL   # postgres://user:password@host:5432/cosell',
    '  #   pool: { max: 10 }             # at least sync.concurrency + 3',
    '  #   ssl: { mode: verify-full }     # the default for a remote host; ca: /path/ca.pem for a private CA',
    '  # Move an existing SQLite store there with `cosell migrate-store --from sqlite:data/cosell.db --to postgres:env:COSELL_DATABASE_URL`.',
    '',
    'admin:',
    '  # The admin API, the dashboard and /metrics: loopback or a private network only, never the internet.',
    '  host: 127.0.0.1',
    '  port: 4180',
    ...(answers.sandbox
      ? ['  # Trying the sandboxes on this machine: no token. Only allowed while admin.host is a loopback address.', '  auth: none']
      : ['  # At least 32 characters (e.g. `openssl rand -base64 32`); `cosell status` and friends read the same reference.', '  token: env:COSELL_ADMIN_TOKEN']),
    '',
    '# sync:',
    '#   reconcileIntervalSeconds: 60   # safety net for lost notifications',
    '',
    'partnerCenter:',
  ];
  if (answers.sandbox) {
    lines.push(
      '  # The local Partner Center sandbox (`cosell sandbox`), which accepts a fixed bearer token.',
      `  referralsApiUrl: ${q(answers.partnerCenterUrl ?? '')}`,
      `  webhooksApiUrl: ${q(answers.partnerCenterUrl ?? '')}`,
      '  auth:',
      '    mode: sandbox',
      '  webhooks:',
      `    certificateHosts: [${q(pcHost ?? '')}]`,
      '    # The sandbox serves its signing certificate over plain http; never list a Microsoft host here.',
      `    insecureHttpHosts: [${q(pcHost ?? '')}]`,
      '    # The sandbox signs with its own CA, written by `cosell sandbox` (run it from this folder).',
      `    trustAnchors: [${q(paths.rootCertificate)}]`,
    );
  } else {
    lines.push(
      '  auth:',
      '    # App registration with the Partner Center API permission; the refresh token is a Referrals admin user\'s',
      '    # (Secure Application Model).',
      '    mode: entra',
      `    tenantId: ${q(answers.tenantId ?? '')}`,
      `    clientId: ${q(answers.partnerCenterClientId ?? '')}`,
      '    clientSecret: env:COSELL_PC_CLIENT_SECRET',
      '    refreshToken: env:COSELL_PC_REFRESH_TOKEN',
      '    # Entra rotates the refresh token on use: with a key (`openssl rand -base64 32`) the newest one is kept, sealed,',
      '    # across restarts.',
      '    # tokenEncryptionKey: env:COSELL_PC_TOKEN_KEY',
    );
  }
  if (answers.dynamics) {
    lines.push('', 'dynamics:', `  orgUrl: ${q(answers.dynamics.url)}`);
    if (answers.sandbox) {
      lines.push('  # The local Dataverse sandbox accepts any bearer token.', '  mode: sandbox');
    } else {
      lines.push(
        '  # Client credentials of an app registration with an application user in the environment.',
        '  mode: entra',
        `  tenantId: ${q(answers.tenantId ?? '')}`,
        `  clientId: ${q(answers.dynamics.clientId ?? '')}`,
        '  clientSecret: env:COSELL_DYNAMICS_CLIENT_SECRET',
      );
    }
    lines.push(
      '  # Dataverse change notifications; without them, edits arrive with the next reconcile pass.',
      '  # webhook:',
      '  #   secret: env:COSELL_DYNAMICS_WEBHOOK_SECRET',
    );
  }
  if (answers.salesforce) {
    lines.push('', 'salesforce:', `  instanceUrl: ${q(answers.salesforce.url)}`);
    if (answers.sandbox) {
      lines.push('  # The local Salesforce sandbox accepts any client.', '  mode: sandbox');
    } else {
      lines.push(
        '  # An External Client App with the client credentials flow and a Run-As integration user.',
        '  mode: client-credentials',
        `  clientId: ${q(answers.salesforce.clientId ?? '')}`,
        '  clientSecret: env:COSELL_SALESFORCE_CLIENT_SECRET',
      );
    }
    lines.push(
      '  # cdc: Change Data Capture stream (no public endpoint needed); outbound-messages: SOAP notifications.',
      '  notifications: cdc',
    );
  }
  return `${lines.join('\n')}\n`;
}
