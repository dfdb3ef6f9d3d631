import type { CallRecorder } from '../../http/call-record.ts';
import { resolveSecret, type ResolveSecretOptions } from '../../config/secrets.ts';
import type { Logger } from '../../util/logger.ts';
import { ClientCredentialsAuthenticator, JwtBearerAuthenticator, type GrantCallRecorder, type SalesforceAuthenticator } from './auth.ts';
import type { SalesforceConfig } from '../../config/salesforce.ts';
import { SalesforceConnector, type SalesforceConnectorOptions } from './salesforce-connector.ts';

export interface SalesforceConnectorDeps {
  logger: Logger;
  /** Every HTTP attempt, token requests included (`route: oauth2/token`). */
  onCall?: CallRecorder;
  /** Replaces the grant the config describes (tests, or a token source of the deployment's own). */
  authenticator?: SalesforceAuthenticator;
  env?: ResolveSecretOptions['env'];
  /** `sync.reconcileOverlapSeconds` in ms: the change poll's overlap unless `pollOverlapSeconds` is set. */
  reconcileOverlapMs?: number;
}

/** The local sandbox accepts any client id and secret for the client-credentials grant. */
const SANDBOX_CLIENT = { clientId: 'cosell-sandbox', clientSecret: 'cosell-sandbox' } as const;

export async function salesforceAuthenticator(config: SalesforceConfig, deps: Pick<SalesforceConnectorDeps, 'env' | 'onCall'> = {}): Promise<SalesforceAuthenticator> {
  const secretOptions = deps.env ? { env: deps.env } : {};
  const onCall: GrantCallRecorder | undefined = deps.onCall ? (call) => deps.onCall?.({ api: 'salesforce', attempt: 1, ...call }) : undefined;
  const endpoint = { timeoutMs: config.timeoutMs, onCall };
  switch (config.mode) {
    case 'sandbox':
      return new ClientCredentialsAuthenticator({ ...endpoint, loginUrl: config.loginUrl ?? config.instanceUrl, ...SANDBOX_CLIENT });
    case 'client-credentials': {
      if (!config.clientId || !config.clientSecret) throw new Error('salesforce: clientId and clientSecret are required for client-credentials');
      // The client-credentials token endpoint must be the org's My Domain (Salesforce Help "OAuth 2.0 Client
      // Credentials Flow for Server-to-Server Integration").
      return new ClientCredentialsAuthenticator({ ...endpoint, loginUrl: config.loginUrl ?? config.instanceUrl, clientId: config.clientId, clientSecret: await resolveSecret(config.clientSecret, { ...secretOptions, setting: 'salesforce.clientSecret' }) });
    }
    case 'jwt': {
      if (!config.clientId || !config.username || !config.privateKey) throw new Error('salesforce: clientId, username and privateKey are required for jwt');
      return new JwtBearerAuthenticator({
        ...endpoint,
        loginUrl: config.loginUrl ?? 'https://login.salesforce.com',
        clientId: config.clientId,
        username: config.username,
        privateKeyPem: await resolveSecret(config.privateKey, { ...secretOptions, setting: 'salesforce.privateKey' }),
      });
    }
  }
}

/** The connector options a config stands for (secrets resolved); `createSalesforceConnector` builds from these. */
export async function salesforceConnectorOptions(config: SalesforceConfig, deps: SalesforceConnectorDeps): Promise<SalesforceConnectorOptions> {
  const authenticator = deps.authenticator ?? (await salesforceAuthenticator(config, deps));
  return {
    name: config.name,
    authenticator,
    apiVersion: config.apiVersion,
    callOptionsClient: config.callOptionsClient,
    onHoldStage: config.onHoldStage,
    syncEditsWhileOnHold: config.syncEditsWhileOnHold,
    activeStage: config.activeStage,
    leadStatuses: config.leadStatuses,
    // Microsoft's "Sync Co-sell opportunity" = Yes: only co-sell and pipeline deals come over, no leads.
    leadsEnabled: !config.syncCoSellOnly,
    statusIndicator: { nameSuffix: config.statusIndicator.nameSuffix },
    // Its own setting where given, else the reconciler's overlap (which used to be ignored here: always 120 s).
    pollOverlapMs: config.pollOverlapSeconds !== undefined ? config.pollOverlapSeconds * 1000 : (deps.reconcileOverlapMs ?? 120_000),
    defaultCloseDateDays: config.defaultCloseDateDays,
    changeStream: config.notifications === 'cdc',
    timeoutMs: config.timeoutMs,
    // As the Dataverse request budget: paced on a real org only (the sandbox's allocation is a test fixture).
    ...(config.mode === 'sandbox' ? {} : { pacing: {} }),
    logger: deps.logger.child({ component: 'salesforce', connection: config.name }),
    ...(deps.onCall ? { onCall: deps.onCall } : {}),
  };
}

export async function createSalesforceConnector(config: SalesforceConfig, deps: SalesforceConnectorDeps): Promise<SalesforceConnector> {
  return new SalesforceConnector(await salesforceConnectorOptions(config, deps));
}
