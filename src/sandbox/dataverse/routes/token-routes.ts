import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenIdentity } from '../auth/tokens.ts';
import type { DataverseContext } from '../context.ts';

function form(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null) return {};
  return Object.fromEntries(Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** Entra ID's OAuth error shape (`error`, `error_description` with the AADSTS code). */
interface TokenError {
  error: string;
  error_description: string;
}

const missing = (name: string): TokenError => ({
  error: 'invalid_request',
  error_description: `AADSTS900144: The request body must contain the following parameter: '${name}'.`,
});

/**
 * Stand-in for the Entra ID token endpoint ("Use OAuth authentication with Microsoft Dataverse"). Like Entra, it knows
 * nothing of the environment: any client id and secret get a client-credentials token, and the Web API then refuses
 * one whose app registration has no application user (403, see principalOf). `grant_type=password` (resource owner
 * password credentials) signs a seller in by user name (UPN): a delegated token, whose writes are the seller's own.
 * Secrets and passwords are not checked: the sandbox tests protocols and identities, not credentials.
 */
export function registerTokenRoutes(app: FastifyInstance, ctx: DataverseContext): void {
  const identityOf = (fields: Record<string, string>, tenant: string): TokenIdentity | TokenError => {
    const grant = fields.grant_type;
    if (!grant) return missing('grant_type');
    const clientId = fields.client_id;
    if (!clientId) return missing('client_id');
    if (grant === 'client_credentials') return { kind: 'application', clientId };
    if (grant !== 'password') return { error: 'unsupported_grant_type', error_description: `AADSTS70003: The app requested an unsupported grant type '${grant}'.` };
    const username = fields.username;
    if (!username) return missing('username');
    // The tenant's directory is the org's users here: a licensed user signs in by UPN (`domainname`).
    const user = ctx.services.store
      .all('systemuser')
      .find((row) => row.values.accessmode !== 4 && typeof row.values.domainname === 'string' && row.values.domainname.toLowerCase() === username.toLowerCase());
    const objectId = user?.values.azureactivedirectoryobjectid;
    if (typeof objectId !== 'string') {
      return { error: 'invalid_grant', error_description: `AADSTS50034: The user account ${username} does not exist in the ${tenant} directory.` };
    }
    return { kind: 'delegated', objectId, clientId };
  };

  const issue = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const fields = form(request.body);
    const tenant = String((request.params as Record<string, unknown>).tenant ?? '');
    const identity = identityOf(fields, tenant);
    if ('error' in identity) return reply.code(400).send(identity);
    const token = ctx.tokens.issue(identity);
    return reply.code(200).send({
      token_type: 'Bearer',
      expires_in: token.expiresIn,
      ext_expires_in: token.expiresIn,
      access_token: token.accessToken,
      ...(fields.scope ? { scope: fields.scope } : {}),
    });
  };
  app.post('/:tenant/oauth2/v2.0/token', issue);
  app.post('/:tenant/oauth2/token', issue);
}
