import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkJwtAssertion } from '../auth/jwt-assertion.ts';
import { tokenFromAuthorization } from '../auth/tokens.ts';
import { displayName, SANDBOX_USERS, userByUsername, type SandboxUser } from '../auth/users.ts';
import type { SalesforceContext } from '../context.ts';
import { formatRestDateTime } from '../data/wire-dates.ts';
import { invalidSession } from '../errors.ts';
import { requestOrigin } from '../../shared/http-request.ts';
import { sendError } from './http-helpers.ts';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Signs `id + issued_at` when the client sent no secret (JWT flow); the value only has to be well-formed. */
const SANDBOX_SIGNING_SECRET = 'cosell-sandbox-signing-secret';

function form(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null) return {};
  return Object.fromEntries(Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

/** Client credentials may come in the body or as HTTP Basic (RFC 6749 §2.3.1); Salesforce accepts both. */
function clientCredentials(request: FastifyRequest, fields: Record<string, string>): { id?: string; secret?: string } {
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (basic) {
    const [id, ...secret] = Buffer.from(basic[1] ?? '', 'base64').toString('utf8').split(':');
    return { id: decodeURIComponent(id ?? ''), secret: decodeURIComponent(secret.join(':')) };
  }
  return { ...(fields.client_id ? { id: fields.client_id } : {}), ...(fields.client_secret ? { secret: fields.client_secret } : {}) };
}

function oauthError(reply: FastifyReply, error: string, description: string, status = 400): FastifyReply {
  return reply.code(status).send({ error, error_description: description });
}

/**
 * The OAuth 2.0 token endpoint (Salesforce Help "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration")
 * for the server-to-server flows: client credentials (runs as the integration user), JWT bearer (structure checked,
 * signature not — see jwt-assertion.ts) and the deprecated username-password flow that jsforce's `login()` still uses.
 * Any client id/secret is accepted: the sandbox tests protocols, not identities.
 */
export function registerOAuthRoutes(app: FastifyInstance, ctx: SalesforceContext): void {
  const tokenResponse = (request: FastifyRequest, user: SandboxUser, clientSecret: string | undefined): Record<string, string> => {
    const { accessToken, issuedAt } = ctx.sessions.issue(user);
    const instanceUrl = requestOrigin(request, ctx.baseUrl());
    const id = `${instanceUrl}/id/${ctx.organizationId}/${user.id}`;
    const issuedAtText = String(issuedAt);
    const signature = createHmac('sha256', clientSecret ?? SANDBOX_SIGNING_SECRET).update(id + issuedAtText).digest('base64');
    return { access_token: accessToken, signature, scope: 'api', instance_url: instanceUrl, id, token_type: 'Bearer', issued_at: issuedAtText };
  };

  app.post('/services/oauth2/token', async (request, reply) => {
    const fields = form(request.body);
    const client = clientCredentials(request, fields);
    switch (fields.grant_type) {
      case 'client_credentials':
        if (!client.id) return oauthError(reply, 'invalid_client_id', 'client identifier invalid');
        if (!client.secret) return oauthError(reply, 'invalid_client', 'invalid client credentials');
        return tokenResponse(request, SANDBOX_USERS.integration, client.secret);
      case JWT_BEARER: {
        const check = checkJwtAssertion(fields.assertion);
        if (!check.ok) return oauthError(reply, check.error, check.description);
        // A username the org knows runs as that user; any other runs as the integration user (tolerant).
        return tokenResponse(request, userByUsername(check.claims.sub) ?? SANDBOX_USERS.integration, client.secret);
      }
      case 'password': {
        if (!client.id) return oauthError(reply, 'invalid_client_id', 'client identifier invalid');
        const user = fields.username ? userByUsername(fields.username) : undefined;
        if (!user || !fields.password) return oauthError(reply, 'invalid_grant', 'authentication failure');
        return tokenResponse(request, user, client.secret);
      }
      case 'refresh_token':
        // None of the supported flows issues refresh tokens.
        return oauthError(reply, 'invalid_grant', 'expired access/refresh token');
      case undefined:
        return oauthError(reply, 'invalid_request', 'grant_type is required');
      default:
        return oauthError(reply, 'unsupported_grant_type', 'grant type not supported');
    }
  });

  app.post('/services/oauth2/revoke', async (request, reply) => {
    const token = form(request.body).token ?? (request.query as Record<string, string | undefined>).token;
    if (!token) return oauthError(reply, 'invalid_request', 'token is required');
    ctx.sessions.revoke(token);
    return reply.code(200).send();
  });

  /** The identity URL (`id` in the token response); jsforce's `identity()` calls it with `oauth_token`. */
  app.get('/id/:orgId/:userId', async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const token = tokenFromAuthorization(request.headers.authorization) ?? query.oauth_token;
    const caller = token ? ctx.sessions.resolve(token) : undefined;
    const { orgId, userId } = request.params as { orgId: string; userId: string };
    if (!caller) return sendError(reply, invalidSession());
    const user = [SANDBOX_USERS.integration, SANDBOX_USERS.seller].find((candidate) => candidate.id === userId);
    if (!user || orgId !== ctx.organizationId) return reply.code(404).send({ error: 'Bad_Id', error_description: 'Bad id' });
    const origin = requestOrigin(request, ctx.baseUrl());
    const base = `${origin}/services/data/v{version}`;
    return {
      id: `${origin}/id/${ctx.organizationId}/${user.id}`,
      asserted_user: caller.id === user.id,
      user_id: user.id,
      organization_id: ctx.organizationId,
      username: user.username,
      nick_name: user.alias,
      display_name: displayName(user),
      email: user.email,
      email_verified: true,
      first_name: user.firstName,
      last_name: user.lastName,
      timezone: 'GMT',
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: 0,
      last_modified_date: formatRestDateTime(0),
      is_app_installed: true,
      urls: {
        enterprise: `${origin}/services/Soap/c/{version}/${ctx.organizationId}`,
        partner: `${origin}/services/Soap/u/{version}/${ctx.organizationId}`,
        rest: `${base}/`,
        sobjects: `${base}/sobjects/`,
        query: `${base}/query/`,
        tooling_rest: `${base}/tooling/`,
        profile: `${origin}/${user.id}`,
      },
    };
  });
}
