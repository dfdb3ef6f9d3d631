import jsforce, { type Connection } from 'jsforce';
import type { LeadConvert, LeadConvertResult } from 'jsforce/lib/api/soap/schema.js';

/** The default org's converted Lead Status (`LeadStatus.IsConverted`). */
export const CONVERTED_LEAD_STATUS = 'Closed - Converted';

/**
 * A jsforce connection signed in as the Salesforce sandbox's seller (a session minted by its control API), at the API
 * version the sandbox serves: what a seller's own tool holds.
 */
export async function sellerConnection(sandboxUrl: string): Promise<Connection> {
  const post = await fetch(`${sandboxUrl}/_sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'seller' }) });
  const { access_token: accessToken } = (await post.json()) as { access_token: string };
  const organization = (await (await fetch(`${sandboxUrl}/_sandbox/organization`)).json()) as { apiVersion: string };
  return new jsforce.Connection({ instanceUrl: sandboxUrl, accessToken, version: organization.apiVersion });
}

/**
 * The seller converts a lead through the SOAP API's convertLead() (jsforce `conn.soap.convertLead`), as Salesforce
 * documents it; a failed conversion throws with the LeadConvertResult's errors.
 */
export async function convertLeadAsSeller(seller: Connection, leadId: string, options: Partial<LeadConvert> = {}): Promise<LeadConvertResult> {
  const result = await seller.soap.convertLead({ leadId, convertedStatus: CONVERTED_LEAD_STATUS, ...options });
  if (!result.success) throw new Error(`convertLead of ${leadId} failed: ${JSON.stringify(result.errors)}`);
  return result;
}
