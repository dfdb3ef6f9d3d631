import type { INetworkModule } from '@azure/msal-node';
import type { Config } from '../config/schema.ts';
import type { CallRecorder } from '../http/call-record.ts';
import { resolveSecret } from '../config/secrets.ts';
import type { Logger } from '../util/logger.ts';
import { EntraRefreshTokenProvider, REFERRALS_API_SCOPE, WEBHOOKS_API_SCOPE } from '../http/entra-tokens.ts';
import { ReferralsClient } from './referrals-client.ts';
import { StaticTokenProvider, type TokenProvider } from '../http/tokens.ts';
import { WebhooksClient } from './webhooks-client.ts';
import { ConfigError } from '../config/errors.ts';
import { SealedRefreshTokenVault, type CredentialRecords, type RefreshTokenVault } from '../http/refresh-token-vault.ts';
import { encryptionKeySchema } from '../http/token-crypto.ts';

export interface PartnerCenterClients {
  referrals: ReferralsClient;
  webhooks: WebhooksClient;
}

/**
 * The Referrals and Webhooks APIs live on different hosts with different token audiences, so each gets its own token
 * provider even when both come from the same Entra app and user.
 */
type EntraAuth = Extract<Config['partnerCenter']['auth'], { mode: 'entra' }>;

const KEY_SETTING = 'partnerCenter.auth.tokenEncryptionKey';

/** The key sealing the rotated refresh token; an unusable one is invalid configuration (exit code 2, naming the setting). */
export async function tokenEncryptionKey(auth: EntraAuth): Promise<Buffer | undefined> {
  if (!auth.tokenEncryptionKey) return undefined;
  const parsed = encryptionKeySchema.safeParse(await resolveSecret(auth.tokenEncryptionKey, { setting: KEY_SETTING }));
  if (!parsed.success) throw new ConfigError('', KEY_SETTING, parsed.error.issues.map((issue) => issue.message).join('; '));
  return parsed.data;
}

async function vaultFor(auth: EntraAuth, options: ClientOptions): Promise<RefreshTokenVault | undefined> {
  if (!options.credentials) return undefined;
  const key = await tokenEncryptionKey(auth);
  return new SealedRefreshTokenVault({ records: options.credentials, key, ...(options.logger ? { logger: options.logger } : {}) });
}

async function tokenProviders(config: Config['partnerCenter'], options: ClientOptions): Promise<{ referrals: TokenProvider; webhooks: TokenProvider }> {
  const auth = config.auth;
  if (auth.mode === 'sandbox') {
    const provider = new StaticTokenProvider(auth.token);
    return { referrals: provider, webhooks: provider };
  }
  const [clientSecret, refreshToken] = await Promise.all([
    resolveSecret(auth.clientSecret, { setting: 'partnerCenter.auth.clientSecret' }),
    resolveSecret(auth.refreshToken, { setting: 'partnerCenter.auth.refreshToken' }),
  ]);
  const vault = await vaultFor(auth, options);
  const common = { tenantId: auth.tenantId, clientId: auth.clientId, clientSecret, refreshToken, authorityHost: auth.authorityHost,
    ...(vault ? { vault } : {}),
    ...(options.entraNetworkClient ? { networkClient: options.entraNetworkClient } : {}),
  };
  return {
    referrals: new EntraRefreshTokenProvider({ ...common, scope: REFERRALS_API_SCOPE }),
    webhooks: new EntraRefreshTokenProvider({ ...common, scope: WEBHOOKS_API_SCOPE }),
  };
}

export interface ClientOptions {
  logger?: Logger;
  onCall?: CallRecorder;
  /** The service's store: keeps Entra's rotated refresh token (sealed) and when it was last used. */
  credentials?: CredentialRecords;
  /** Replaces MSAL's HTTP client: for tests, which cannot serve Entra over https (see EntraAppOptions.networkClient). */
  entraNetworkClient?: INetworkModule;
}

export async function partnerCenterClients(config: Config['partnerCenter'], options: ClientOptions = {}): Promise<PartnerCenterClients> {
  const tokens = await tokenProviders(config, options);
  const shared = { ...(options.logger ? { logger: options.logger } : {}), ...(options.onCall ? { onCall: options.onCall } : {}) };
  return {
    referrals: new ReferralsClient({ ...shared, baseUrl: config.referralsApiUrl, tokenProvider: tokens.referrals }),
    webhooks: new WebhooksClient({ ...shared, baseUrl: config.webhooksApiUrl, tokenProvider: tokens.webhooks }),
  };
}
