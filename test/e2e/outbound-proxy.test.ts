import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { runCli } from '../support/cli.ts';
import { makeTempDir } from '../support/tmp.ts';

/**
 * A forward proxy on loopback, as corporate proxies work: it tunnels CONNECT requests and forwards absolute-form
 * requests (`GET http://host/path`), recording the `host:port` each went to.
 */
function startForwardProxy(): Promise<{ server: Server; url: string; tunnels: string[]; wrongHostHeaders: string[] }> {
  const tunnels: string[] = [];
  const wrongHostHeaders: string[] = [];
  const server = createServer((request, response) => {
    const target = URL.canParse(request.url ?? '') ? new URL(request.url ?? '') : undefined;
    if (!target) return void response.writeHead(400).end();
    tunnels.push(target.host);
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
      resolve({ server, url: `http://127.0.0.1:${port}`, tunnels, wrongHostHeaders });
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
});
