import { RequestBudget } from './request-budget.ts';
import type { CallRecorder } from '../../http/call-record.ts';
import { resolveSecret, type ResolveSecretOptions } from '../../config/secrets.ts';
import { EntraClientCredentialsProvider } from '../../http/entra-tokens.ts';
import { StaticTokenProvider, type TokenProvider } from '../../http/tokens.ts';
import type { Logger } from '../../util/logger.ts';
import type { DynamicsConfig } from '../../config/dynamics.ts';
import { DynamicsConnector } from './dynamics-connector.ts';
import { DEFAULT_WEBHOOK_HEADER, type DynamicsWebhookAuth } from './webhook.ts';

export interface DynamicsConnectorDeps {
  logger: Logger;
  onCall?: CallRecorder;
  /** Replaces the token source (tests, or a managed identity the config does not describe). */
  tokenProvider?: TokenProvider;
  env?: ResolveSecretOptions['env'];
}

/**
 * Application (S2S) tokens for the environment: scope `<orgUrl>/.default` ("Use OAuth authentication with Microsoft
 * Dataverse"; @azure/msal-node confidential client).
 */
export async function dynamicsTokenProvider(config: DynamicsConfig, env?: ResolveSecretOptions['env']): Promise<TokenProvider> {
  if (config.mode === 'sandbox') return new StaticTokenProvider(config.sandboxToken);
  if (!config.tenantId || !config.clientId || !config.clientSecret) throw new Error('dynamics: tenantId, clientId and clientSecret are required in entra mode');
  const clientSecret = await resolveSecret(config.clientSecret, { ...(env ? { env } : {}), setting: 'dynamics.clientSecret' });
  return new EntraClientCredentialsProvider({
    tenantId: config.tenantId,
    clientId: config.clientId,
    clientSecret,
    authorityHost: config.authorityHost,
    scope: `${new URL(config.orgUrl).origin}/.default`,
  });
}

export async function createDynamicsConnector(config: DynamicsConfig, deps: DynamicsConnectorDeps): Promise<DynamicsConnector> {
  const tokenProvider = deps.tokenProvider ?? (await dynamicsTokenProvider(config, deps.env));
  return new DynamicsConnector({
    name: config.name,
    orgUrl: config.orgUrl,
    tokenProvider,
    // A real environment enforces the window; the sandbox does not, and pacing it would only slow benchmarks down.
    budget: config.mode === 'sandbox' ? undefined : new RequestBudget(),
    prefix: config.prefix,
    leadsEnabled: config.leadsEnabled,
    statusIndicator: { nameSuffix: config.statusIndicator.nameSuffix },
    lostStatusCode: config.lostStatusCode,
    timeoutMs: config.timeoutMs,
    logger: deps.logger.child({ component: 'dynamics', connection: config.name }),
    ...(deps.onCall ? { onCall: deps.onCall } : {}),
  });
}

/** The webhook credential from config, resolved: what `setupDynamics` registers and `verifyWebhookAuth` checks. */
export async function dynamicsWebhookAuth(config: DynamicsConfig, env?: ResolveSecretOptions['env']): Promise<DynamicsWebhookAuth | undefined> {
  const webhook = config.webhook;
  if (!webhook) return undefined;
  const secret = await resolveSecret(webhook.secret, { ...(env ? { env } : {}), setting: 'dynamics.webhook.secret' });
  return webhook.auth === 'WebhookKey' ? { kind: 'WebhookKey', secret } : { kind: 'HttpHeader', headerName: webhook.headerName || DEFAULT_WEBHOOK_HEADER, secret };
}
