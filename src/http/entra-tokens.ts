import { ConfidentialClientApplication, type AuthenticationResult, type INetworkModule } from '@azure/msal-node';
import { z } from 'zod';
import { msalNetworkModule } from './msal-network.ts';
import { credentialFailure } from './redact.ts';
import { explainCredentialProblem, isCredentialRefusal } from './entra-errors.ts';
import type { RefreshTokenVault } from './refresh-token-vault.ts';
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
  /** Keeps the newest (rotated) refresh token between runs; without it only the configured one is used. */
  vault?: RefreshTokenVault;
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
    // A refusal no retry cures (expired grant, MFA, consent) says what to do, in every command, not only on the console.
    const problem = explainCredentialProblem(failure.message);
    throw new TokenAcquisitionError(problem ? `${failure.message}. ${problem.advice}` : failure.message, undefined, failure.code);
  }
  if (!result?.accessToken) throw new TokenAcquisitionError(`${describe} returned no access token`);
  // MSAL always sets expiresOn for these flows; the fallback only guards against a future change.
  return { token: result.accessToken, expiresOnMs: result.expiresOn?.getTime() ?? now() + 5 * 60_000 };
}

/** The serialized MSAL token cache's refresh tokens (`msal-node`'s documented `TokenCache.serialize()`). */
const serializedCacheSchema = z.object({ RefreshToken: z.record(z.string(), z.object({ secret: z.string() })).optional() });

/**
 * MSAL keeps the refresh token a `acquireTokenByRefreshToken` exchange returned in its token cache and offers no call
 * that returns it; reading the serialized cache is the documented way out. The cache is emptied before each exchange
 * (CachingTokenProvider runs one at a time), so the one refresh token in it afterwards is the one just returned.
 */
function rotatedRefreshToken(app: ConfidentialClientApplication): string | undefined {
  const parsed = serializedCacheSchema.safeParse(JSON.parse(app.getTokenCache().serialize()));
  const tokens = parsed.success ? Object.values(parsed.data.RefreshToken ?? {}) : [];
  return tokens.length === 1 ? tokens[0]?.secret : undefined;
}

/**
 * Secure Application Model (App+User): the Referrals API accepts only delegated tokens of a Referrals admin, and MFA
 * rules out the password grant, so a stored refresh token of that user is exchanged for access tokens.
 *
 * Entra rotates refresh tokens on use ("Refresh tokens in the Microsoft identity platform": a new one with each
 * exchange, valid until revoked or unused for 90 days). With a vault the newest one is kept and used first after a
 * restart; if Entra refuses it (invalid_grant) the configured one is tried before giving up.
 */
export class EntraRefreshTokenProvider extends CachingTokenProvider {
  constructor(options: EntraRefreshTokenOptions) {
    const app = createApplication(options);
    const now = options.now ?? Date.now;
    const vault = options.vault;
    const secrets = [options.clientSecret, options.refreshToken];
    const describe = `Entra refresh-token exchange for ${options.scope}`;
    const exchange = async (refreshToken: string) => {
      await app.clearCache();
      return acquire(describe, [...secrets, refreshToken], now, () => app.acquireTokenByRefreshToken({ refreshToken, scopes: [options.scope] }));
    };
    super(async () => {
      const stored = await vault?.load(options.refreshToken);
      let token: AccessToken;
      try {
        token = await exchange(stored ?? options.refreshToken).catch(async (error: unknown) => {
          if (stored === undefined || !(error instanceof TokenAcquisitionError) || error.code !== 'invalid_grant') throw error;
          await vault?.discard();
          return exchange(options.refreshToken);
        });
      } catch (error) {
        // A timeout or a 5xx is the moment, not the credential: the connection's own health shows those.
        if (error instanceof TokenAcquisitionError && isCredentialRefusal(error.code, error.message)) await vault?.refused(error.message);
        throw error;
      }
      await vault?.exchanged(vault ? rotatedRefreshToken(app) : undefined, options.refreshToken);
      return token;
    }, options);
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
