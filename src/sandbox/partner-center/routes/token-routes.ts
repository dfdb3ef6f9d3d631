import type { FastifyInstance } from 'fastify';
import type { PartnerCenterContext } from '../context.ts';
import { isPlainObject } from '../../shared/deep-merge.ts';
import { TOKEN_LIFETIME_SECONDS } from '../auth.ts';
import { sendJson } from '../http-helpers.ts';

const DEFAULT_RESOURCE = 'https://api.partner.microsoft.com';

/**
 * A stand-in for the Entra ID token endpoints (v1 and v2 paths) for clients that insist on fetching a token. Any client
 * id, secret, password or refresh token is accepted: the sandbox tests protocols, not identities.
 */
export function registerTokenRoutes(app: FastifyInstance, ctx: PartnerCenterContext): void {
  const issue = async (request: { body: unknown }, reply: Parameters<typeof sendJson>[0]) => {
    const form = isPlainObject(request.body) ? request.body : {};
    const resource = typeof form.resource === 'string' && form.resource !== '' ? form.resource : DEFAULT_RESOURCE;
    const scope = typeof form.scope === 'string' && form.scope !== '' ? form.scope : `${resource}/.default`;
    const token = ctx.tokens.issue();
    return sendJson(reply, 200, {
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_SECONDS,
      ext_expires_in: TOKEN_LIFETIME_SECONDS,
      scope,
      access_token: token.accessToken,
      refresh_token: token.refreshToken,
      resource,
    });
  };
  app.post('/oauth2/token', issue);
  app.post('/:tenant/oauth2/token', issue);
  app.post('/:tenant/oauth2/v2.0/token', issue);
}
