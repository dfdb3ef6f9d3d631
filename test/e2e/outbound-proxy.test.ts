import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { runCli } from '../support/cli.ts';
import { makeTempDir } from '../support/tmp.ts';

/** A forward proxy on loopback that tunnels CONNECT requests and records where they went. */
function startTunnelProxy(): Promise<{ server: Server; url: string; tunnels: string[] }> {
  const tunnels: string[] = [];
  const server = createServer((_request, response) => response.writeHead(405).end());
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
      resolve({ server, url: `http://127.0.0.1:${port}`, tunnels });
    }),
  );
}

describe('outbound requests and HTTPS_PROXY / NO_PROXY', () => {
  const tmp = makeTempDir();
  let pc: PartnerCenterSandbox;
  let proxy: Awaited<ReturnType<typeof startTunnelProxy>>;
  const configFile = join(tmp.path, 'cosell.yaml');

  beforeAll(async () => {
    pc = await startPartnerCenterSandbox({ port: 0 });
    proxy = await startTunnelProxy();
    writeFileSync(
      configFile,
      stringify({ store: { path: join(tmp.path, 'cosell.db') }, partnerCenter: { referralsApiUrl: pc.url, webhooksApiUrl: pc.url } }),
    );
  });

  afterAll(async () => {
    proxy?.server.close();
    await pc?.close();
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
});
