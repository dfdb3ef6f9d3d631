import type { Config } from '../config/schema.ts';
import type { CallRecorder } from '../http/call-record.ts';
import { resolveSecret } from '../config/secrets.ts';
import type { Logger } from '../util/logger.ts';
import { EntraRefreshTokenProvider, REFERRALS_API_SCOPE, WEBHOOKS_API_SCOPE } from '../http/entra-tokens.ts';
import { ReferralsClient } from './referrals-client.ts';
import { StaticTokenProvider, type TokenProvider } from '../http/tokens.ts';
import { WebhooksClient } from './webhooks-client.ts';

export interface PartnerCenterClients {
  referrals: ReferralsClient;
  webhooks: WebhooksClient;
}

/**
 * The Referrals and Webhooks APIs live on different hosts with different token audiences, so each gets its own token
 * provider even when both come from the same Entra app and user.
 */
async function tokenProviders(config: Config['partnerCenter']): Promise<{ referrals: TokenProvider; webhooks: TokenProvider }> {
  const auth = config.auth;
  if (auth.mode === 'sandbox') {
    const provider = new StaticTokenProvider(auth.token);
    return { referrals: provider, webhooks: provider };
  }
  const [clientSecret, refreshToken] = await Promise.all([
    resolveSecret(auth.clientSecret, { setting: 'partnerCenter.auth.clientSecret' }),
    resolveSecret(auth.refreshToken, { setting: 'partnerCenter.auth.refreshToken' }),
  ]);
  const common = { tenantId: auth.tenantId, clientId: auth.clientId, clientSecret, refreshToken, authorityHost: auth.authorityHost };
  return {
    referrals: new EntraRefreshTokenProvider({ ...common, scope: REFERRALS_API_SCOPE }),
    webhooks: new EntraRefreshTokenProvider({ ...common, scope: WEBHOOKS_API_SCOPE }),
  };
}

export async function partnerCenterClients(
  config: Config['partnerCenter'],
  options: { logger?: Logger; onCall?: CallRecorder } = {},
): Promise<PartnerCenterClients> {
  const tokens = await tokenProviders(config);
  const shared = { ...(options.logger ? { logger: options.logger } : {}), ...(options.onCall ? { onCall: options.onCall } : {}) };
  return {
    referrals: new ReferralsClient({ ...shared, baseUrl: config.referralsApiUrl, tokenProvider: tokens.referrals }),
    webhooks: new WebhooksClient({ ...shared, baseUrl: config.webhooksApiUrl, tokenProvider: tokens.webhooks }),
  };
}
