import { ConfidentialClientApplication, type AuthenticationResult, type INetworkModule } from '@azure/msal-node';
import { msalNetworkModule } from './msal-network.ts';
import { credentialFailure } from './redact.ts';
import { CachingTokenProvider, TokenAcquisitionError, type AccessToken, type TokenCacheOptions } from './tokens.ts';

/*
 * Microsoft Entra tokens through @azure/msal-node.
 *
 * The `.default` scopes are the v2 form of the documented v1 resources (`resource=https://api.partner.microsoft.com`
 * for Referrals, `https://api.partnercenter.microsoft.com` for Webhooks). Microsoft's referral docs never state the v2
 * scope: it is an UNCONFIRMED inference (scope = resource + `/.default`), so both are overridable.
 */
export const REFERRALS_API_SCOPE = 'https://api.partner.microsoft.com/.default';
export const WEBHOOKS_API_SCOPE = 'https://api.partnercenter.microsoft.com/.default';
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

export interface EntraAppOptions extends TokenCacheOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Sovereign clouds use another host. MSAL insists on https, so a local plain-http test server cannot stand in. */
  authorityHost?: string;
  scope: string;
  /** Replaces our MSAL HTTP client (`msalNetworkModule`), e.g. for tests that must not reach login.microsoftonline.com. */
  networkClient?: INetworkModule;
}

export interface EntraRefreshTokenOptions extends EntraAppOptions {
  /** Refresh token of the Referrals admin user (Secure Application Model). */
  refreshToken: string;
}

function createApplication(options: EntraAppOptions): ConfidentialClientApplication {
  const authorityHost = (options.authorityHost ?? DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '');
  return new ConfidentialClientApplication({
    auth: {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      authority: `${authorityHost}/${options.tenantId}`,
      // Trusting the configured host skips MSAL's instance-discovery call to the public cloud, which a sovereign
      // cloud or test host would not satisfy.
      knownAuthorities: [new URL(authorityHost).host],
    },
    system: { networkClient: options.networkClient ?? msalNetworkModule },
  });
}

async function acquire(
  describe: string,
  secrets: readonly string[],
  now: () => number,
  call: () => Promise<AuthenticationResult | null>,
): Promise<AccessToken> {
  let result: AuthenticationResult | null;
  try {
    result = await call();
  } catch (error) {
    // MSAL's message carries the identity provider's error_description; its errorCode is the OAuth `error`.
    const failure = credentialFailure({ what: describe, secrets, cause: error, errorCode: (error as { errorCode?: unknown }).errorCode });
    throw new TokenAcquisitionError(failure.message, undefined, failure.code);
  }
  if (!result?.accessToken) throw new TokenAcquisitionError(`${describe} returned no access token`);
  // MSAL always sets expiresOn for these flows; the fallback only guards against a future change.
  return { token: result.accessToken, expiresOnMs: result.expiresOn?.getTime() ?? now() + 5 * 60_000 };
}

/**
 * Secure Application Model (App+User): the Referrals API accepts only delegated tokens of a Referrals admin, and MFA
 * rules out the password grant, so a stored refresh token of that user is exchanged for access tokens.
 *
 * Entra rotates refresh tokens; MSAL keeps the newest one in its in-memory cache only, so after a restart the
 * configured (older) one is used again. It stays valid until it is revoked or unused for 90 days.
 */
export class EntraRefreshTokenProvider extends CachingTokenProvider {
  constructor(options: EntraRefreshTokenOptions) {
    const app = createApplication(options);
    const now = options.now ?? Date.now;
    const secrets = [options.clientSecret, options.refreshToken];
    super(
      () =>
        acquire(`Entra refresh-token exchange for ${options.scope}`, secrets, now, () =>
          app.acquireTokenByRefreshToken({ refreshToken: options.refreshToken, scopes: [options.scope] }),
        ),
      options,
    );
  }
}

/** App-only tokens: valid for the Webhooks API, not for Referrals (which documents App+User only). */
export class EntraClientCredentialsProvider extends CachingTokenProvider {
  constructor(options: EntraAppOptions) {
    const app = createApplication(options);
    const now = options.now ?? Date.now;
    super(
      () =>
        acquire(`Entra client-credentials token for ${options.scope}`, [options.clientSecret], now, () =>
          // Our cache decides when to refresh; MSAL's own cache would otherwise hand back the token we just let go.
          app.acquireTokenByClientCredential({ scopes: [options.scope], skipCache: true }),
        ),
      options,
    );
  }
}
