import type { NetworkResponse } from '@azure/msal-node';

/** A host MSAL accepts (it insists on https) that no test ever reaches: MSAL's network client is replaced instead. */
export const FAKE_ENTRA_HOST = 'https://login.test.example';

/** The OpenID discovery document MSAL fetches for `${host}/<tenant>` before its first token request. */
export function fakeEntraDiscovery<T>(url: string, host = FAKE_ENTRA_HOST): Promise<NetworkResponse<T>> {
  const tenant = new URL(url).pathname.split('/')[1] ?? '';
  const body = {
    token_endpoint: `${host}/${tenant}/oauth2/v2.0/token`,
    issuer: `${host}/${tenant}/v2.0`,
    authorization_endpoint: `${host}/${tenant}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${host}/${tenant}/oauth2/v2.0/logout`,
    jwks_uri: `${host}/${tenant}/discovery/v2.0/keys`,
  };
  return Promise.resolve({ status: 200, headers: {}, body: body as T });
}
