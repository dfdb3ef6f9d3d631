import { createHmac, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import fastifyBearerAuth from '@fastify/bearer-auth';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../util/logger.ts';
import { LOGIN_PAGE } from './routes/login-page.ts';

/*
 * Everything that stands between a request and the admin listener's routes, in one onRequest hook (before any body
 * is read):
 *   1. the Host header must name this listener (an IP literal, localhost or a configured name): a DNS-rebinding page
 *      reaches us under its own name and is refused;
 *   2. authentication: a dashboard session cookie or `Authorization: Bearer <token>` (compared in constant time by
 *      @fastify/bearer-auth), unless authentication is off (loopback only, enforced by the config schema);
 *   3. state changes: the Origin, when a browser sends one, must be this listener (and must be sent when the caller
 *      authenticated with the cookie), and the body must be JSON — a cross-site HTML form can send neither.
 */

export const SESSION_COOKIE = 'cosell_session';
const MAX_SESSIONS = 1_000;
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `open`: reachable without credentials (the login page and its form). Host and Origin checks still apply. */
    adminAccess?: 'open';
  }
}

export interface AdminGuardOptions {
  /** The admin token; undefined turns authentication off (the config allows that on loopback only). */
  token: string | undefined;
  /** Host names (lower case, no port) accepted besides IP literals and localhost. */
  allowedHosts: readonly string[];
  sessionTtlMs: number;
  logger: Logger;
}

/** Dashboard logins, in memory: a restart or a token change logs everyone out, which is the safe direction. */
export class SessionStore {
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(): string {
    const id = randomBytes(32).toString('base64url');
    // Bounded: the oldest login goes first (Map keeps insertion order).
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    this.sessions.set(id, this.now() + this.ttlMs);
    return id;
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    const expiresAt = this.sessions.get(id);
    if (expiresAt === undefined) return false;
    if (expiresAt <= this.now()) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  revoke(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }
}

const refusal = (code: string, message: string) => ({ error: { code, message } });

/** Lower-cased host name of a Host header value, without port or IPv6 brackets. */
export function hostNameOf(host: string): string {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return name.toLowerCase();
}

export function hostAllowed(host: string | undefined, allowedHosts: readonly string[]): boolean {
  if (!host) return false;
  const name = hostNameOf(host);
  // An IP literal cannot be rebound: a page that reaches us by IP has that IP as its own origin.
  return isIP(name) !== 0 || name === 'localhost' || allowedHosts.includes(name);
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJsonContentType(value: string | undefined): boolean {
  return (value ?? '').split(';')[0]?.trim().toLowerCase() === 'application/json';
}

function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    const url = new URL(origin);
    return url.origin !== 'null' && url.host.toLowerCase() === (request.host ?? '').toLowerCase() && url.protocol === `${request.protocol}:`;
  } catch {
    return false;
  }
}

/** Installs the guard, the session cookie and the login / logout routes on the admin listener. */
export async function adminGuard(app: FastifyInstance, options: AdminGuardOptions): Promise<void> {
  const { token, logger } = options;
  const allowedHosts = options.allowedHosts.map((h) => h.toLowerCase());
  const sessions = new SessionStore(options.sessionTtlMs);

  let checkBearer: ((request: FastifyRequest, reply: FastifyReply) => Promise<boolean>) | undefined;
  if (token !== undefined) {
    // The cookie signature key is derived from the token, so changing the token also invalidates every cookie.
    await app.register(fastifyCookie, { secret: createHmac('sha256', token).update('cosell-sync dashboard session').digest() });
    await app.register(fastifyBearerAuth, { keys: [token], addHook: false, verifyErrorLogLevel: 'debug' });
    const verify = app.verifyBearerAuth;
    if (!verify) throw new Error('@fastify/bearer-auth did not install verifyBearerAuth');
    checkBearer = (request, reply) => new Promise((resolve) => verify(request, reply, (error) => resolve(error === undefined)));
  }

  const sessionOf = (request: FastifyRequest): string | undefined => {
    const raw = request.cookies[SESSION_COOKIE];
    if (!raw) return undefined;
    const unsigned = request.unsignCookie(raw);
    return unsigned.valid && unsigned.value !== null ? unsigned.value : undefined;
  };

  const refuse = (request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string) => {
    // Never the headers: they may carry the token or the cookie.
    logger.warn({ status, code, method: request.method, path: request.url.split('?')[0], ip: request.ip }, `admin request refused: ${message}`);
    return reply.code(status).type('application/json; charset=utf-8').send(refusal(code, message));
  };

  app.addHook('onRequest', async (request, reply) => {
    if (!hostAllowed(request.host, allowedHosts)) {
      return refuse(request, reply, 403, 'host_not_allowed', 'the Host header does not name this admin listener (see admin.allowedHosts)');
    }
    let viaCookie = false;
    if (checkBearer && request.routeOptions.config.adminAccess !== 'open') {
      viaCookie = sessions.valid(sessionOf(request));
      if (!viaCookie && !(await checkBearer(request, reply))) {
        reply.header('www-authenticate', 'Bearer realm="cosell-sync admin"');
        if (request.method === 'GET' && request.routeOptions.url === '/') {
          // The dashboard's address shows the login form; the status still says "not authenticated".
          return reply.code(401).type('text/html; charset=utf-8').send(LOGIN_PAGE);
        }
        return refuse(request, reply, 401, 'unauthorized', 'admin API: send "Authorization: Bearer <admin token>" or log in to the dashboard');
      }
    }
    if (STATE_CHANGING.has(request.method)) {
      const fetchSite = request.headers['sec-fetch-site'];
      const originOk = request.headers.origin === undefined ? !viaCookie && (fetchSite === undefined || fetchSite === 'same-origin' || fetchSite === 'none') : sameOrigin(request);
      if (!originOk) return refuse(request, reply, 403, 'cross_origin', 'state-changing admin requests must come from the admin listener itself');
      if (!isJsonContentType(request.headers['content-type'])) {
        return refuse(request, reply, 415, 'unsupported_media_type', 'state-changing admin requests take an application/json body');
      }
    }
    return undefined;
  });

  if (token === undefined) {
    app.get('/login', { config: { adminAccess: 'open' } }, async (_request, reply) => reply.redirect('/'));
    return;
  }

  app.get('/login', { config: { adminAccess: 'open' } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(LOGIN_PAGE));

  // The form sends the token once, as a bearer header (never in a URL); the answer is an HttpOnly, SameSite=Strict,
  // signed cookie naming a server-side session.
  app.post('/login', async (_request, reply) => {
    reply.setCookie(SESSION_COOKIE, sessions.create(), {
      signed: true,
      httpOnly: true,
      sameSite: 'strict',
      secure: 'auto',
      path: '/',
      maxAge: Math.floor(options.sessionTtlMs / 1000),
    });
    return { loggedIn: true };
  });

  app.post('/logout', async (request, reply) => {
    sessions.revoke(sessionOf(request));
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { loggedIn: false };
  });
}
