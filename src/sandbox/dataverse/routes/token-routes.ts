import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DataverseContext } from '../context.ts';

function form(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null) return {};
  return Object.fromEntries(Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/**
 * Stand-in for the Entra ID token endpoint ("Use OAuth authentication with Microsoft Dataverse") for clients that fetch
 * their own token: any client id and secret are accepted (the sandbox tests protocols, not identities); the token maps
 * to the application user.
 */
export function registerTokenRoutes(app: FastifyInstance, ctx: DataverseContext): void {
  const issue = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const fields = form(request.body);
    if (!fields.grant_type) {
      return reply.code(400).send({ error: 'invalid_request', error_description: "AADSTS900144: The request body must contain the following parameter: 'grant_type'." });
    }
    const token = ctx.tokens.issue();
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
