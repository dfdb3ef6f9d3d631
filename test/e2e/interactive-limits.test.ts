import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../support/cli.ts';
import { makeTempDir } from '../support/tmp.ts';

/*
 * Commands a person runs give up on a host that never answers after one attempt, naming the host, where the service
 * would try again (src/http/outbound.ts, INTERACTIVE_HTTP_TIMEOUTS). The file shortens the headers limit so the test
 * is quick; the defaults' figures come from `npm run bench:silent-host`.
 */
describe('interactive commands against a host that accepts connections and never answers', () => {
  const tmp = makeTempDir();
  const sockets: Socket[] = [];
  /** The request line of each connection: a call that is tried again shows up twice. */
  const requests: string[] = [];
  let silent: Server;
  let host: string;
  let configFile: string;

  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.once('data', (chunk: Buffer) => requests.push(chunk.toString('latin1').split('\r\n')[0] ?? ''));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    configFile = join(tmp.path, 'cosell.yaml');
    writeFileSync(
      configFile,
      stringify({
        store: { path: join(tmp.path, 'cosell.db') },
        log: { level: 'warn' },
        outbound: { headersTimeoutMs: 500 },
        partnerCenter: { referralsApiUrl: `http://${host}`, webhooksApiUrl: `http://${host}` },
        // The whole-call limit stays at its 30 s default: a read in an interactive command is bounded by the 0.5 s.
        dynamics: { orgUrl: `http://${host}`, mode: 'sandbox' },
      }),
    );
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    tmp.cleanup();
  });

  it.each([
    ['mapping', 'check'],
    ['setup', 'dynamics', '--no-webhook'],
  ])('%s %s: each call tried once, and the error names the host', async (...command: string[]) => {
    requests.length = 0;
    const result = await runCli([...command, '-c', configFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`dataverse ${host}: no complete response within 0.5 s`);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests).toEqual([...new Set(requests)]);
  }, 60_000);
});
