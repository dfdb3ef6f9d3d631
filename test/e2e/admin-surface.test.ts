import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineHashes } from '../../src/server/content-security-policy.ts';
import { ADMIN_TOKEN, adminAuthHeader } from '../support/admin.ts';
import { runCli } from '../support/cli.ts';
import { SyncHarness } from '../support/sync-harness.ts';
import { makeTempDir } from '../support/tmp.ts';

/*
 * The admin surface as an attacker meets it: its own loopback listener, nothing of it on the public one, 401 without
 * credentials (a cross-site page included, which must not make the service spend one vendor call), the Host checked
 * against DNS rebinding, Origin and JSON required for state changes, the dashboard's login cookie, security headers,
 * and the token in no answer and no log line.
 */

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch: a test must be able to send any Host and Origin, as a browser or a script would. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** What a foreign web page can make a browser send without a CORS preflight: a "simple" text/plain POST. */
const crossSite = (adminUrl: string) => ({
  method: 'POST',
  headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain;charset=UTF-8' },
  body: '{}',
  url: adminUrl,
});

const ADMIN_GETS = [
  '/api/status',
  '/api/events',
  '/api/events?include=payload',
  '/api/audit',
  '/api/conflicts',
  '/api/dead-letters',
  '/api/overview',
  '/api/deals',
  '/api/deals/dynamics/x',
  '/metrics',
  '/readyz',
  '/',
  '/overview/live',
  '/deals',
  '/deals/dynamics/x',
  '/console.js',
  '/console.css',
];
const ADMIN_POSTS = ['/api/reconcile', '/api/sync/referral/x', '/api/dead-letters/1/replay', '/api/dead-letters/replay', '/api/conflicts/1/resolve', '/api/registration/check', '/logout'];

describe('the admin listener', () => {
  const logLines: string[] = [];
  const answers: string[] = [];
  let h: SyncHarness;
  const vendorCalls = async () => (await h.pcRequests()).total + (await h.dvRequests()).total;
  /** Every answer a test reads is kept, to check at the end that none of them carries the token. */
  const call = async (path: string, options: Parameters<typeof raw>[1] = {}, base?: string) => {
    const answer = await raw(`${base ?? h.adminUrl}${path}`, options);
    answers.push(JSON.stringify(answer.headers), answer.body);
    return answer;
  };

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    // Unredacted and at debug level: the token must not reach the logger at all.
    h = await SyncHarness.start({ runEngine: false, logger: pino({ level: 'debug' }, sink) });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('answers 401 without credentials, or with a wrong token, on every admin route', async () => {
    for (const path of ADMIN_GETS) {
      expect((await call(path)).status, `GET ${path}`).toBe(401);
      expect((await call(path, { headers: { authorization: 'Bearer not-the-token' } })).status, `GET ${path} wrong token`).toBe(401);
    }
    for (const path of ADMIN_POSTS) {
      const json = { 'content-type': 'application/json' };
      expect((await call(path, { method: 'POST', headers: json, body: '{}' })).status, `POST ${path}`).toBe(401);
      expect((await call(path, { method: 'POST', headers: { ...json, authorization: `Basic ${ADMIN_TOKEN}` }, body: '{}' })).status).toBe(401);
    }
    const unauthenticated = await call('/api/status');
    expect(unauthenticated.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('refuses a cross-site text/plain POST with 401 and spends no vendor call', async () => {
    const before = await vendorCalls();
    const depthBefore = (await h.status()).queueDepth;
    for (const path of ['/api/reconcile', '/api/sync/referral/x']) {
      const { url, ...options } = crossSite(h.adminUrl);
      expect((await call(path, options, url)).status, path).toBe(401);
    }
    expect(await vendorCalls()).toBe(before);
    expect((await h.status()).queueDepth).toBe(depthBefore);
  });

  it('refuses state changes from another origin or in another content type even with the token, spending nothing', async () => {
    const before = await vendorCalls();
    const { url, ...crossSiteWithToken } = crossSite(h.adminUrl);
    crossSiteWithToken.headers = { ...crossSiteWithToken.headers, ...adminAuthHeader };
    expect((await call('/api/reconcile', crossSiteWithToken, url)).status).toBe(403);
    const foreignJson = { method: 'POST', headers: { ...adminAuthHeader, origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' };
    expect((await call('/api/reconcile', foreignJson)).status).toBe(403);
    expect((await call('/api/reconcile', { ...foreignJson, headers: { ...foreignJson.headers, origin: 'null' } })).status).toBe(403);
    const plain = { method: 'POST', headers: { ...adminAuthHeader, 'content-type': 'text/plain' }, body: '{}' };
    expect((await call('/api/reconcile', plain)).status).toBe(415);
    const form = { method: 'POST', headers: { ...adminAuthHeader, 'content-type': 'application/x-www-form-urlencoded' }, body: 'since=x' };
    expect((await call('/api/sync/referral/x', form)).status).toBe(415);
    expect(await vendorCalls()).toBe(before);
    expect((await h.status()).queueDepth).toBe(0);
  });

  it('serves nothing of the admin surface on the public listener, and no webhook on the admin one', async () => {
    for (const path of ['/api/status', '/api/events', '/metrics', '/readyz', '/', '/login']) {
      expect((await call(path, { headers: adminAuthHeader }, h.url)).status, path).toBe(404);
    }
    expect((await call('/api/reconcile', { method: 'POST', headers: { ...adminAuthHeader, 'content-type': 'application/json' }, body: '{}' }, h.url)).status).toBe(404);
    const health = await call('/healthz', {}, h.url);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    expect((await call('/webhooks/partner-center', { method: 'POST', headers: { ...adminAuthHeader, 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
  });

  it('refuses a Host that is not its own (DNS rebinding), even with the token', async () => {
    const port = new URL(h.adminUrl).port;
    expect((await call('/api/status', { headers: { ...adminAuthHeader, host: `rebind.evil.example:${port}` } })).status).toBe(403);
    expect((await call('/', { headers: { host: `rebind.evil.example:${port}` } })).status).toBe(403);
    expect((await call('/api/status', { headers: { ...adminAuthHeader, host: `localhost:${port}` } })).status).toBe(200);
    expect((await call('/api/status', { headers: { ...adminAuthHeader, host: `127.0.0.1:${port}` } })).status).toBe(200);
  });

  it('logs a browser in with a signed HttpOnly SameSite=Strict cookie, checks Origin on its state changes, logs it out', async () => {
    const origin = h.adminUrl;
    const loginPage = await call('/');
    expect(loginPage.status).toBe(401);
    expect(loginPage.body).toContain('<form id="login">');
    expect((await call('/login')).status).toBe(200);

    const json = { 'content-type': 'application/json', origin };
    expect((await call('/login', { method: 'POST', headers: { ...json, authorization: 'Bearer wrong' }, body: '{}' })).status).toBe(401);
    const login = await call('/login', { method: 'POST', headers: { ...json, ...adminAuthHeader }, body: '{}' });
    expect(login.status).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^cosell_session=[^;]+\.[^;]+;/); // value.signature
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const cookie = setCookie.split(';')[0] as string;

    expect((await call('/api/status', { headers: { cookie } })).status).toBe(200);
    const dashboard = await call('/', { headers: { cookie } });
    expect(dashboard.status).toBe(200);
    expect(dashboard.body).toContain('<h2>Dead letters</h2>');
    // A tampered cookie is no session.
    const [name, value] = cookie.split('=') as [string, string];
    expect((await call('/api/status', { headers: { cookie: `${name}=x${value}` } })).status).toBe(401);

    // CSRF: with the cookie, a state change must name this listener as its Origin.
    const post = (headers: Record<string, string>) => call('/api/sync/referral/csrf-test', { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{}' });
    expect((await post({})).status).toBe(403);
    expect((await post({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ origin })).status).toBe(202);

    expect((await call('/logout', { method: 'POST', headers: { cookie, ...json }, body: '{}' })).status).toBe(200);
    expect((await call('/api/status', { headers: { cookie } })).status).toBe(401);
  });

  it('sends security headers, with a CSP that runs the console’s own files and only the login page’s inline blocks', async () => {
    const dashboard = await call('/', { headers: adminAuthHeader });
    const csp = String(dashboard.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toMatch(/script-src 'self'/);
    // The console has no inline script or style at all; the login page's are allowed by hash.
    const consoleHashes = inlineHashes(dashboard.body);
    expect(consoleHashes.scripts).toHaveLength(0);
    expect(consoleHashes.styles).toHaveLength(0);
    expect(dashboard.body).toContain('<script src="/console.js" defer></script>');
    const login = await call('/login');
    const loginHashes = inlineHashes(login.body);
    expect(loginHashes.scripts).toHaveLength(1);
    for (const hash of [...loginHashes.scripts, ...loginHashes.styles]) expect(csp).toContain(hash);
    expect(dashboard.headers['x-content-type-options']).toBe('nosniff');
    expect(dashboard.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(dashboard.headers['referrer-policy']).toBe('no-referrer');
    expect((await call('/healthz', {}, h.url)).headers['x-content-type-options']).toBe('nosniff');
  });

  it('/api/events leaves webhook bodies out unless asked for', async () => {
    const referral = await h.incomingReferral({ name: 'Payload privacy deal' });
    await h.waitForWebhooks();
    const lean = JSON.parse((await call(`/api/events?resourceId=${referral.id}`, { headers: adminAuthHeader })).body) as { events: Array<Record<string, unknown>> };
    expect(lean.events.length).toBeGreaterThan(0);
    expect(lean.events.every((e) => !('payload' in e))).toBe(true);
    const full = JSON.parse((await call(`/api/events?resourceId=${referral.id}&include=payload`, { headers: adminAuthHeader })).body) as { events: Array<Record<string, unknown>> };
    expect(full.events.every((e) => typeof e.payload === 'object')).toBe(true);
    expect((await call('/api/events?include=everything', { headers: adminAuthHeader })).status).toBe(400);
  });

  it('/readyz reports a writable store and when each connection last answered', async () => {
    await h.reconcile();
    const ready = await call('/readyz', { headers: adminAuthHeader });
    expect(ready.status).toBe(200);
    const report = JSON.parse(ready.body) as { ready: boolean; store: string; connections: Record<string, { lastSuccessAt: string | null }> };
    expect(report.ready).toBe(true);
    expect(report.store).toBe('writable');
    expect(Object.keys(report.connections).sort()).toEqual(['dynamics', 'partner-center']);
    expect(Date.parse(report.connections['partner-center']?.lastSuccessAt ?? '')).not.toBeNaN();
    expect(Date.parse(report.connections.dynamics?.lastSuccessAt ?? '')).not.toBeNaN();
  });

  it('logs the client address from the socket, not from X-Forwarded-For (trustProxy is off)', async () => {
    const before = logLines.length;
    await call('/webhooks/partner-center', { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.66' }, body: '{}' }, h.url);
    const rejected = logLines.slice(before).map((l) => JSON.parse(l) as { msg: string; ip?: string }).find((l) => l.msg.startsWith('webhook rejected'));
    expect(rejected?.ip).toBe('127.0.0.1');
  });

  it('the CLI finds the token itself, refuses a malformed --service-url, and says why a wrong token fails', async () => {
    const ok = await runCli(['status', '--service-url', h.adminUrl]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Connections:     dynamics');
    answers.push(ok.stdout, ok.stderr);

    // Sandbox mode (no config file): the token npm start wrote under data/sandbox/, relative to the working directory.
    const sandboxDir = makeTempDir();
    try {
      const env = { COSELL_ADMIN_TOKEN: '' };
      const missing = await runCli(['status', '--service-url', h.adminUrl], { cwd: sandboxDir.path, env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('admin.token (file:data/sandbox/admin.token)');
      mkdirSync(join(sandboxDir.path, 'data/sandbox'), { recursive: true });
      writeFileSync(join(sandboxDir.path, 'data/sandbox/admin.token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
      const picked = await runCli(['status', '--service-url', h.adminUrl], { cwd: sandboxDir.path, env });
      expect(picked.code, picked.stderr).toBe(0);
      answers.push(missing.stderr, picked.stdout, picked.stderr);
    } finally {
      sandboxDir.cleanup();
    }

    const malformed = await runCli(['status', '--service-url', 'notaurl']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--service-url');

    const wrong = await runCli(['status', '--service-url', h.adminUrl], { env: { COSELL_ADMIN_TOKEN: 'x'.repeat(40) } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/refused the admin token/);
    expect(wrong.stderr).not.toContain('x'.repeat(40));
  }, 240_000);

  it('never puts the token in an answer or a log line', () => {
    expect(answers.length).toBeGreaterThan(50);
    expect(answers.filter((a) => a.includes(ADMIN_TOKEN))).toEqual([]);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(ADMIN_TOKEN))).toEqual([]);
  });
});
