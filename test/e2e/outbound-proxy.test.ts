import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { salesforceConfigSchema } from '../../src/config/salesforce.ts';
import type { ChangeSink, CrmRecordRef } from '../../src/crm/connector.ts';
import { createSalesforceConnector } from '../../src/crm/salesforce/factory.ts';
import { configureOutbound } from '../../src/http/outbound.ts';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { runCli } from '../support/cli.ts';
import { waitFor } from '../support/service-harness.ts';
import { makeTempDir } from '../support/tmp.ts';

/**
 * A forward proxy on loopback, as corporate proxies work: it tunnels CONNECT requests and forwards absolute-form
 * requests (`GET http://host/path`), recording the `host:port` each went to (and, for absolute-form requests, which
 * carry it, the `host:port/path` in `requests`).
 */
function startForwardProxy(): Promise<{ server: Server; url: string; tunnels: string[]; requests: string[]; wrongHostHeaders: string[] }> {
  const tunnels: string[] = [];
  const requests: string[] = [];
  const wrongHostHeaders: string[] = [];
  const server = createServer((request, response) => {
    const target = URL.canParse(request.url ?? '') ? new URL(request.url ?? '') : undefined;
    if (!target) return void response.writeHead(400).end();
    tunnels.push(target.host);
    requests.push(`${target.host}${target.pathname}`);
    // RFC 9112 §3.2.2: an absolute-form request carries the target's host as Host. This proxy forwards it corrected,
    // as lenient proxies do, and notes the mistake; a strict one (or Dataverse behind a tunnel) would not route it.
    if (request.headers.host !== target.host) wrongHostHeaders.push(`${target.host} sent Host: ${request.headers.host ?? ''}`);
    const upstream = httpRequest(target, { method: request.method, headers: { ...request.headers, host: target.host } }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  server.on('connect', (request, client) => {
    tunnels.push(request.url ?? '');
    const [host, port] = (request.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ server, url: `http://127.0.0.1:${port}`, tunnels, requests, wrongHostHeaders });
    }),
  );
}

describe('outbound requests and HTTPS_PROXY / NO_PROXY', () => {
  const tmp = makeTempDir();
  let pc: PartnerCenterSandbox;
  let dv: DataverseSandbox;
  let sf: SalesforceSandbox;
  let proxy: Awaited<ReturnType<typeof startForwardProxy>>;
  const configFile = join(tmp.path, 'cosell.yaml');

  beforeAll(async () => {
    pc = await startPartnerCenterSandbox({ port: 0 });
    dv = await startDataverseSandbox({ port: 0 });
    sf = await startSalesforceSandbox({ port: 0 });
    proxy = await startForwardProxy();
    writeFileSync(
      configFile,
      stringify({
        store: { path: join(tmp.path, 'cosell.db') },
        log: { level: 'warn' },
        partnerCenter: { referralsApiUrl: pc.url, webhooksApiUrl: pc.url },
        dynamics: { orgUrl: dv.url, mode: 'sandbox' },
        salesforce: { instanceUrl: sf.url, mode: 'sandbox', notifications: 'cdc' },
      }),
    );
  });

  afterAll(async () => {
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    await pc?.close();
    await dv?.close();
    await sf?.close();
    tmp.cleanup();
  });

  const noProxyEnv = { HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '', NO_PROXY: '', no_proxy: '' };

  it('goes through the proxy named by HTTP_PROXY', async () => {
    const result = await runCli(['webhooks', 'events', '-c', configFile], { env: { ...noProxyEnv, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('referral-created');
    expect(proxy.tunnels).toContain(new URL(pc.url).host);
  }, 60_000);

  it('goes direct to hosts listed in NO_PROXY', async () => {
    proxy.tunnels.length = 0;
    const result = await runCli(['webhooks', 'events', '-c', configFile], {
      env: { ...noProxyEnv, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(proxy.tunnels).toEqual([]);
  }, 60_000);

  it('sends the Dataverse and Salesforce calls (the Salesforce token included) through the proxy too', async () => {
    proxy.tunnels.length = 0;
    proxy.wrongHostHeaders.length = 0;
    const env = { ...noProxyEnv, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url };
    const dynamics = await runCli(['setup', 'dynamics', '--no-webhook', '--json', '-c', configFile], { env });
    expect(dynamics.code, dynamics.stderr).toBe(0);
    // dynamics-web-api is on node:http, not the shared dispatcher: DataverseClient hands it the proxy.
    expect(proxy.tunnels).toContain(new URL(dv.url).host);
    expect(proxy.wrongHostHeaders).toEqual([]);
    const salesforce = await runCli(['setup', 'salesforce', '--json', '-c', configFile], { env });
    expect(salesforce.code, salesforce.stderr).toBe(0);
    expect(proxy.tunnels).toContain(new URL(sf.url).host);
    const report = JSON.parse(salesforce.stdout) as { created: string[]; found: string[] };
    expect(report.created.length + report.found.length).toBeGreaterThan(0);
  }, 120_000);

  it('sends the CRM calls direct to hosts listed in NO_PROXY', async () => {
    proxy.tunnels.length = 0;
    // The lower-case spellings too: dynamics-web-api used to read `http_proxy` / `https_proxy` itself, ignoring NO_PROXY.
    const env = { ...noProxyEnv, http_proxy: proxy.url, https_proxy: proxy.url, no_proxy: '127.0.0.1' };
    const dynamics = await runCli(['setup', 'dynamics', '--no-webhook', '--json', '-c', configFile], { env });
    expect(dynamics.code, dynamics.stderr).toBe(0);
    const salesforce = await runCli(['setup', 'salesforce', '--json', '-c', configFile], { env });
    expect(salesforce.code, salesforce.stderr).toBe(0);
    expect(proxy.tunnels).toEqual([]);
  }, 120_000);

  describe('the Salesforce change stream (CDC over CometD, in this process)', () => {
    const savedEnv = { ...process.env };
    const stops: Array<() => Promise<void>> = [];

    afterEach(async () => {
      for (const stop of stops.splice(0)) await stop();
      // The stopped client's goodbye has reached Salesforce: nothing of it reaches the proxy during the next test.
      await waitFor('the stream\'s disconnect', async () => {
        const events = (await (await fetch(`${sf.url}/_sandbox/cdc/events`)).json()) as { subscribers: number };
        return events.subscribers === 0;
      });
      for (const name of Object.keys(noProxyEnv)) delete process.env[name];
      Object.assign(process.env, Object.fromEntries(Object.entries(savedEnv).filter(([name]) => name in noProxyEnv)));
      configureOutbound({ env: process.env });
      vi.restoreAllMocks();
    });

    /**
     * Sets the proxy variables as a deployment would (process.env, which faye used to read on its own), starts the
     * connector's change stream and creates an opportunity in the sandbox as a seller: resolves with the stream's
     * refs for it and what faye printed as warnings.
     */
    const streamAChange = async (env: Record<string, string>): Promise<{ delivered: CrmRecordRef[]; warnings: string[] }> => {
      Object.assign(process.env, noProxyEnv, env);
      configureOutbound({ env: process.env });
      const warnings: string[] = [];
      vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(' ')));
      const config = salesforceConfigSchema.parse({ instanceUrl: sf.url, mode: 'sandbox', notifications: 'cdc' });
      const connector = await createSalesforceConnector(config, { logger: silentLogger() });
      const delivered: CrmRecordRef[] = [];
      const cursors = new Map<string, string>();
      const sink: ChangeSink = {
        cursor: async (key) => cursors.get(key) ?? null,
        record: async (refs, key, cursor) => {
          delivered.push(...refs);
          cursors.set(key, cursor);
        },
        requestReconcile: () => undefined,
      };
      stops.push(await connector.startChangeStream(sink));
      const response = await fetch(`${sf.url}/_sandbox/records/Opportunity`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Name: 'Proxied stream', StageName: 'Qualification', CloseDate: '2026-12-31', Amount: 1_000 }),
      });
      expect(response.status).toBeLessThan(300);
      const id = String(((await response.json()) as { Id: unknown }).Id);
      await waitFor('the change event', async () => delivered.some((ref) => ref.id === id));
      return { delivered: delivered.filter((ref) => ref.id === id), warnings };
    };

    it('goes through the proxy named by HTTP_PROXY / HTTPS_PROXY, without a warning of its own, and delivers the change', async () => {
      proxy.requests.length = 0;
      proxy.wrongHostHeaders.length = 0;
      const { delivered, warnings } = await streamAChange({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url });
      expect(delivered[0]?.entity).toBe('opportunity');
      const cometd = proxy.requests.filter((request) => request.startsWith(`${new URL(sf.url).host}/cometd/`));
      expect(cometd.length).toBeGreaterThan(0);
      expect(proxy.wrongHostHeaders).toEqual([]);
      // faye printed "The environment variable HTTP_PROXY is discouraged" when it read the variable itself.
      expect(warnings).toEqual([]);
    }, 60_000);

    it('connects direct when NO_PROXY lists the Salesforce host, and delivers the change', async () => {
      proxy.requests.length = 0;
      proxy.tunnels.length = 0;
      const { delivered } = await streamAChange({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
      expect(delivered[0]?.entity).toBe('opportunity');
      expect(proxy.requests.filter((request) => request.includes('/cometd/'))).toEqual([]);
      expect(proxy.tunnels).toEqual([]);
    }, 60_000);

    it('connects direct with the lower-case spellings too (faye read http_proxy itself, ignoring no_proxy)', async () => {
      proxy.requests.length = 0;
      proxy.tunnels.length = 0;
      const { delivered } = await streamAChange({ http_proxy: proxy.url, https_proxy: proxy.url, no_proxy: '127.0.0.1' });
      expect(delivered[0]?.entity).toBe('opportunity');
      expect(proxy.requests.filter((request) => request.includes('/cometd/'))).toEqual([]);
      expect(proxy.tunnels).toEqual([]);
    }, 60_000);
  });
});
