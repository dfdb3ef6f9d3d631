import { DynamicsWebApi } from 'dynamics-web-api';
import { z } from 'zod';

/*
 * Acting on the Dataverse sandbox as someone through the real Web API (dynamics-web-api), with a token from the
 * sandbox's Entra stand-in: a seller signed in (delegated, `grant_type=password`) or an app registration
 * (client credentials). What they write carries their own systemuser as `modifiedby` and as the webhook's
 * `InitiatingUserId`, as on a real org, so the product sees it as someone else's change.
 */

/** The client id a seller's sign-in goes through (a CRM UI or tool's app registration; any value does). */
const SELLER_APP_CLIENT_ID = 'sandbox-crm-ui';

export type DataverseIdentity = { seller: string } | { clientId: string };

const tokenResponseSchema = z.object({ access_token: z.string().min(1) });

/** A token for `who` from the sandbox token endpoint; fails with the endpoint's answer (e.g. an unknown UPN). */
export async function dataverseToken(dataverseUrl: string, who: DataverseIdentity): Promise<string> {
  const form: Record<string, string> =
    'seller' in who
      ? { grant_type: 'password', client_id: SELLER_APP_CLIENT_ID, username: who.seller, password: 'sandbox', scope: `${dataverseUrl}/user_impersonation` }
      : { grant_type: 'client_credentials', client_id: who.clientId, client_secret: 'sandbox', scope: `${dataverseUrl}/.default` };
  const response = await fetch(`${dataverseUrl}/sandbox.onmicrosoft.com/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`sandbox token endpoint answered ${response.status}: ${text}`);
  return tokenResponseSchema.parse(JSON.parse(text)).access_token;
}

/** dynamics-web-api acting as `who` (a seller by UPN, or an app registration by client id) on the sandbox org. */
export async function dataverseAs(dataverseUrl: string, who: DataverseIdentity): Promise<DynamicsWebApi> {
  const accessToken = await dataverseToken(dataverseUrl, who);
  return new DynamicsWebApi({ serverUrl: dataverseUrl, onTokenRefresh: async () => ({ accessToken }), propagateErrors: true });
}
