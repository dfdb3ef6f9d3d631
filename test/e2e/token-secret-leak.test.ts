import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/service-harness.ts';
import { SalesforceSyncHarness } from '../support/sync-harness-salesforce.ts';

/*
 * The leak as it happened: Salesforce's token endpoint (here a proxy in front of the sandbox's) starts answering 400 and
 * echoes the client secret it was sent. The service re-authenticates, fails, logs, dead-letters the job. The secret
 * must appear in no log line, no error, no admin API answer and no byte of the SQLite store.
 */

const SECRET_ENV = 'COSELL_TEST_SALESFORCE_CLIENT_SECRET';
const SECRET = 'leaky-Client+Secret/value=42&more';

class EchoingTokenProxy {
  echo = false;
  private server: Server | undefined;
  url = '';

  constructor(private readonly upstream: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (this.echo) {
          const sent = new URLSearchParams(body);
          res.writeHead(400, { 'content-type': 'application/json' }).end(
            JSON.stringify({ error: 'invalid_client', error_description: `invalid client credentials: client_secret=${sent.get('client_secret') ?? ''} (request: ${body})` }),
          );
          return;
        }
        fetch(`${this.upstream}${req.url ?? ''}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).then(
          async (upstream) => res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text()),
          () => res.writeHead(502).end(),
        );
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('a token endpoint that echoes the client secret', () => {
  let h: SalesforceSyncHarness;
  let proxy: EchoingTokenProxy;
  const previousEnv = process.env[SECRET_ENV];

  beforeAll(async () => {
    process.env[SECRET_ENV] = SECRET;
    h = await SalesforceSyncHarness.start({ mode: 'child', logLevel: 'info' });
    proxy = await new EchoingTokenProxy(h.sf.url).start();
    // The same service, now with real client credentials whose token endpoint is the proxy.
    await h.stopService();
    const salesforce = h.configInput.salesforce as Record<string, unknown>;
    Object.assign(salesforce, { mode: 'client-credentials', clientId: 'cosell-client', clientSecret: { env: SECRET_ENV }, loginUrl: proxy.url });
    await h.startService();
    // Two child-process start-ups (each compiles the sources through tsx): generous, it only bounds a hung start; a
    // full suite on a busy 2-core machine took over 120 s here.
  }, 240_000);

  afterAll(async () => {
    await h?.close();
    await proxy?.stop();
    if (previousEnv === undefined) delete process.env[SECRET_ENV];
    else process.env[SECRET_ENV] = previousEnv;
  });

  it('keeps the secret out of logs, dead letters and the store, while the error keeps status and OAuth code', async () => {
    proxy.echo = true;
    // Salesforce ends every session: the service must authenticate again, and the endpoint now echoes.
    await fetch(`${h.sf.url}/_sandbox/tokens`, { method: 'DELETE' });
    await h.incomingReferral({ name: 'Leak probe' });

    const deadLetters = await waitFor('the job to reach dead letters', async () => {
      const rows = await h.deadLetters();
      return rows.length > 0 ? rows : undefined;
    }, 30_000);
    expect(deadLetters.some((row) => /\b400\b/.test(row.error) && row.error.includes('invalid_client'))).toBe(true);

    const encodings = [SECRET, encodeURIComponent(SECRET), new URLSearchParams({ s: SECRET }).toString().slice(2)];
    const answers = JSON.stringify([deadLetters, await h.status(), await h.api('/api/events')]);
    const logs = `${h.process?.stdout() ?? ''}\n${h.process?.stderr() ?? ''}`;
    // The service did log the failure (so the check below looks at real lines).
    expect(logs).toMatch(/invalid_client/);
    await h.stopService();
    const storeFiles = readdirSync(h.dir).filter((file) => file.startsWith('cosell.db'));
    expect(storeFiles).toContain('cosell.db');
    const storeBytes = storeFiles.map((file) => readFileSync(join(h.dir, file)).toString('latin1')).join('\n');
    for (const spelling of encodings) {
      expect(logs).not.toContain(spelling);
      expect(answers).not.toContain(spelling);
      expect(storeBytes).not.toContain(spelling);
    }
  }, 60_000);
});
