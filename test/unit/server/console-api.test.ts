import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { BulkReplayResponse, DealsResponse, OverviewResponse, PairResponse } from '../../../src/server/admin-api.ts';
import { MAX_BULK_REPLAY } from '../../../src/server/routes/engine-admin.ts';
import { buildAdminApp } from '../../../src/server/app.ts';
import { Metrics } from '../../../src/server/metrics.ts';
import { Readiness } from '../../../src/server/readiness.ts';
import { MAX_DEAL_PAGE, MAX_DEAL_PAGE_SIZE, MAX_SEARCH_LENGTH } from '../../../src/server/routes/console.ts';
import { recordLinksFromConfig } from '../../../src/server/console/record-links.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { SqliteStore } from '../../../src/store/sqlite/index.ts';
import { silentLogger } from '../../../src/util/logger.ts';

/*
 * The console's JSON and pages on the admin listener: credentials required, page and search bounded, hostile deal
 * names escaped, and links to both vendors' records.
 */

const TOKEN = 'console-test-token-0123456789abcdefghijklmnop';
const auth = { host: '127.0.0.1:4180', authorization: `Bearer ${TOKEN}` };

describe('the console routes', () => {
  let app: FastifyInstance;
  const store = SqliteStore.open({ path: ':memory:', synchronous: 'normal' });
  const readiness = new Readiness(store, ':memory:', { 'partner-center': 'referrals', dynamics: 'dataverse' });

  beforeAll(async () => {
    for (let i = 0; i < 30; i++) {
      await store.sync.commit({
        link: { connection: 'dynamics', referralId: `ref-${i}`, crmEntity: 'opportunity', crmId: `opp-${i}`, base: { name: i === 7 ? '<script>alert(1)</script> deal' : `Deal ${i}`, ...(i === 12 ? { '@solutions': ['sol-1'], '@crmMatchesBase': true, '@teamDigest': 'd1', '@contactsReadAt': '2026-12-04T00:00:00.000Z' } : {}) }, pcEtag: null, crmVersion: null, syncState: 'ok', lastError: null },
        audit: [{ connection: 'dynamics', referralId: `ref-${i}`, crmEntity: 'opportunity', crmId: `opp-${i}`, direction: 'to-crm', field: 'name', oldValue: undefined, newValue: `Deal ${i}`, cause: 'event', outcome: 'written', message: null }],
        holdConflicts: [],
        releaseConflicts: [],
      });
    }
    const config = parseConfig('test.yaml', {
      partnerCenter: { referralsApiUrl: 'http://127.0.0.1:4101', webhooksApiUrl: 'http://127.0.0.1:4101' },
      dynamics: { mode: 'sandbox', orgUrl: 'http://127.0.0.1:4102' },
    });
    const metrics = new Metrics({ processMetrics: false });
    metrics.watchHealth({ counts: () => store.console.connectionCounts(), connections: () => readiness.connections() });
    app = await buildAdminApp({
      store,
      logger: silentLogger(),
      metrics,
      readiness,
      token: TOKEN,
      allowedHosts: [],
      sessionTtlMs: 60_000,
      trustProxy: false,
      recordLinks: recordLinksFromConfig(config),
    });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  const get = (url: string, headers: Record<string, string> = auth) => app.inject({ url, headers });

  it('asks for credentials on every console route and asset', async () => {
    for (const url of ['/api/overview', '/api/deals', '/api/deals/dynamics/ref-1', '/', '/overview/live', '/deals', '/deals/dynamics/ref-1', '/console.js', '/console.css']) {
      expect((await get(url, { host: '127.0.0.1:4180' })).statusCode, url).toBe(401);
    }
  });

  it('says why the registration cannot be checked without a CRM connection', async () => {
    const answer = await app.inject({ method: 'POST', url: '/api/registration/check', headers: { ...auth, 'content-type': 'application/json' }, payload: '{}' });
    expect(answer.statusCode).toBe(409);
    expect((await app.inject({ method: 'POST', url: '/api/registration/check', headers: { host: auth.host, 'content-type': 'application/json' }, payload: '{}' })).statusCode).toBe(401);
  });

  it('pauses and resumes a linked pair through the API, and lists and counts it as paused meanwhile', async () => {
    const post = (url: string, headers: Record<string, string> = auth) => app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: '{}' });
    expect((await post('/api/pairs/dynamics/ref-3/pause', { host: auth.host })).statusCode).toBe(401);
    expect((await post('/api/pairs/dynamics/nope/pause')).statusCode).toBe(404);
    expect(JSON.parse((await post('/api/pairs/dynamics/ref-3/pause')).body)).toEqual({ paused: true, message: 'Paused: neither side is written until you resume.' });
    expect(JSON.parse((await post('/api/pairs/dynamics/ref-3/pause')).body)).toMatchObject({ paused: true, message: 'Already paused.' });
    expect((JSON.parse((await get('/api/deals/dynamics/ref-3')).body) as PairResponse).deal).toMatchObject({ state: 'paused', paused: true });
    expect((JSON.parse((await get('/api/overview')).body) as OverviewResponse).totals.paused).toBe(1);
    expect((await get('/deals/dynamics/ref-3')).body).toContain('>Resume</button>');
    expect(JSON.parse((await post('/api/pairs/dynamics/ref-3/resume')).body)).toMatchObject({ paused: false });
    expect((await post('/api/pairs/dynamics/ref-3/resume')).statusCode).toBe(409);
    expect((await get('/deals/dynamics/ref-3')).body).toContain('>Pause</button>');
    // The resume queued the pair's sync.
    expect(await store.jobs.depth()).toBeGreaterThan(0);
    for (const job of await store.jobs.claim(100, 1000)) await store.jobs.complete(job);
  });

  it("an operator's pause adds to a seller's; resume cannot lift the seller's No and says so", async () => {
    const post = (url: string) => app.inject({ method: 'POST', url, headers: { ...auth, 'content-type': 'application/json' }, payload: '{}' });
    expect(await store.sync.pausePair('dynamics', 'ref-4', { by: 'seller', crm: 'Dynamics' })).toBe(true);
    const refused = await post('/api/pairs/dynamics/ref-4/resume');
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('paused by the seller (Sync with Partner Center = No in the CRM)');
    expect(JSON.parse((await post('/api/pairs/dynamics/ref-4/pause')).body)).toMatchObject({ paused: true, message: expect.stringContaining('Paused:') });
    expect(await store.sync.pausedBy('dynamics', 'ref-4')).toEqual(['operator', 'seller']);
    expect(JSON.parse((await post('/api/pairs/dynamics/ref-4/resume')).body)).toMatchObject({ paused: true, message: expect.stringContaining('stays paused until Sync with Partner Center') });
    expect(await store.sync.resumePair('dynamics', 'ref-4', { by: 'seller', crm: 'Dynamics' })).toBe(true);
    for (const job of await store.jobs.claim(100, 1000)) await store.jobs.complete(job);
  });

  it("says on an incoming referral's page when it must be answered", async () => {
    await store.sync.labelDeal({ connection: 'dynamics', referralId: 'ref-4', crmEntity: null, crmId: null, name: 'Deal 4', customer: 'Contoso', respondBy: '2026-01-15T00:00:00.000Z' });
    const page = (await get('/deals/dynamics/ref-4')).body;
    expect(page).toContain('accept or decline it in Partner Center before <time datetime="2026-01-15T00:00:00.000Z"');
    expect((await get('/deals/dynamics/ref-5')).body).not.toContain('awaiting your answer');
  });

  it('pages the deals within bounds and refuses anything outside them', async () => {
    const first = JSON.parse((await get('/api/deals?pageSize=25')).body) as DealsResponse;
    expect(first).toMatchObject({ total: 30, page: 1, pageSize: 25 });
    expect(first.deals).toHaveLength(25);
    const second = JSON.parse((await get('/api/deals?pageSize=25&page=2')).body) as DealsResponse;
    expect(second.deals).toHaveLength(5);
    for (const query of ['page=0', `page=${MAX_DEAL_PAGE + 1}`, 'pageSize=0', `pageSize=${MAX_DEAL_PAGE_SIZE + 1}`, 'page=x', `q=${'a'.repeat(MAX_SEARCH_LENGTH + 1)}`, 'state=bogus', 'sort=name']) {
      const answer = await get(`/api/deals?${query}`);
      expect(answer.statusCode, query).toBe(400);
      expect((JSON.parse(answer.body) as { error: { code: string } }).error.code).toBe('invalid_query');
      expect((await get(`/deals?${query}`)).statusCode, `page ${query}`).toBe(400);
    }
    expect((await get(`/api/deals?q=${'a'.repeat(MAX_SEARCH_LENGTH)}`)).statusCode).toBe(200);
  });

  it('finds a deal by name and links both records', async () => {
    const found = JSON.parse((await get('/api/deals?q=deal%2012')).body) as DealsResponse;
    expect(found.deals.map((d) => d.referralId)).toEqual(['ref-12']);
    expect(found.deals[0]).toMatchObject({
      partnerCenterUrl: 'https://partner.microsoft.com/dashboard/v2/referrals/ref-12',
      crmUrl: 'http://127.0.0.1:4102/main.aspx?pagetype=entityrecord&etn=opportunity&id=opp-12',
    });
    const pair = JSON.parse((await get('/api/deals/dynamics/ref-12')).body) as PairResponse;
    // The agreed values only: the sync's bookkeeping (digests, read times, the mirror mark) is not shown.
    expect(pair.base).toEqual({ name: 'Deal 12', '@solutions': ['sol-1'] });
    expect(pair.audit).toEqual([expect.objectContaining({ field: 'name', outcome: 'written' })]);
    expect((await get('/api/deals/dynamics/nope')).statusCode).toBe(404);
    expect((await get('/deals/dynamics/nope')).statusCode).toBe(404);
  });

  it('escapes what the vendors send: a deal name is text, never markup', async () => {
    const list = (await get('/deals?q=script')).body;
    expect(list).toContain('&lt;script&gt;alert(1)&lt;/script&gt; deal');
    expect(list).not.toContain('<script>alert');
    const pair = (await get('/deals/dynamics/ref-7')).body;
    expect(pair).not.toContain('<script>alert');
    const search = (await get(`/deals?q=${encodeURIComponent('"><img src=x>')}`)).body;
    expect(search).toContain('value="&quot;&gt;&lt;img src=x&gt;"');
  });

  it('reports each connection on the overview', async () => {
    for (let i = 0; i < 3; i++) readiness.recordCall({ api: 'dataverse', method: 'GET', route: 'opportunities', status: 503 });
    const overview = JSON.parse((await get('/api/overview')).body) as OverviewResponse;
    expect(overview.status).toBe('degraded');
    const dynamics = overview.connections.find((c) => c.name === 'dynamics');
    expect(dynamics).toMatchObject({ kind: 'dynamics', state: 'failing', lastFailure: 'HTTP 503 on GET opportunities', budget: { limit: 6000 }, counts: { synced: 30 } });
    expect(overview.connections.find((c) => c.name === 'partner-center')).toMatchObject({ kind: 'partner-center', state: 'unknown', counts: null });
    const page = (await get('/')).body;
    expect(page).toMatch(/class="card card-bad" data-connection="dynamics"/);
    expect((await get('/readyz')).statusCode).toBe(503);
    const scraped = (await get('/metrics')).body;
    expect(scraped).toContain('cosell_connection_failing{connection="dynamics"} 1');
    expect(scraped).toContain('cosell_connection_failing{connection="partner-center"} 0');
    expect(scraped).toContain('cosell_dead_letters_open{connection="dynamics"} 0');
    expect(scraped).toContain('cosell_pairs_paused{connection="dynamics"} 0');
    expect(scraped).toMatch(/cosell_jobs_retrying\{connection="dynamics"\} 0/);
    expect(scraped).not.toContain('cosell_connection_last_success_timestamp_seconds{');
  });
  it('replays dead letters in bulk, bounded, and says which were no longer open', async () => {
    const ids: number[] = [];
    for (const referralId of ['bulk-1', 'bulk-2']) {
      await store.jobs.enqueue([{ connection: 'dynamics', cause: 'event', referralId }]);
      await store.jobs.deadLetter((await store.jobs.claim(1, 1000))[0]!, '400 invalid');
      ids.push((await store.sync.deadLetters({ open: true, limit: 1 }))[0]!.id);
    }
    const post = (payload: unknown) =>
      app.inject({ method: 'POST', url: '/api/dead-letters/replay', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
    expect(await post({ ids }).then((r) => JSON.parse(r.body) as BulkReplayResponse)).toEqual({ replayed: ids, notOpen: [], message: 'Queued 2 again.' });
    expect(await post({ ids: [ids[0], 999_999] }).then((r) => JSON.parse(r.body) as BulkReplayResponse)).toMatchObject({ replayed: [], notOpen: [ids[0], 999_999] });
    for (const bad of [{}, { ids: [] }, { ids: [1.5] }, { ids: [0] }, { ids: Array.from({ length: MAX_BULK_REPLAY + 1 }, (_, i) => i + 1) }, { ids: [1], extra: true }]) {
      expect((await post(bad)).statusCode, JSON.stringify(bad).slice(0, 40)).toBe(400);
    }
    expect(await store.sync.deadLetters({ open: true, limit: 10 })).toEqual([]);
  });
});
