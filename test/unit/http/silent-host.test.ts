import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamicsConnector } from '../../../src/crm/dynamics/dynamics-connector.ts';
import { SalesforceClient } from '../../../src/crm/salesforce/salesforce-client.ts';
import { configureOutbound, DEFAULT_HTTP_TIMEOUTS, useInteractiveLimits } from '../../../src/http/outbound.ts';
import { StaticTokenProvider } from '../../../src/http/tokens.ts';
import { ReferralsClient } from '../../../src/partner-center/referrals-client.ts';
import { silentLogger } from '../../../src/util/logger.ts';

/*
 * A host that accepts the TCP connection and never answers: the failure must come from our limits and name the host
 * and the phase. The limits are shortened so the suite stays quick; the defaults are what `bench` figures compare.
 */

interface SilentHost {
  server: Server;
  sockets: Set<Socket>;
  url: string;
  host: string;
  connections: number;
}

async function startSilentHost(): Promise<SilentHost> {
  const sockets = new Set<Socket>();
  const silent: SilentHost = { server: createServer(), sockets, url: '', host: '', connections: 0 };
  silent.server.on('connection', (socket) => {
    silent.connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.server.listen(0, '127.0.0.1', resolve));
  const address = silent.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  silent.host = `127.0.0.1:${port}`;
  silent.url = `http://${silent.host}`;
  return silent;
}

let silent: SilentHost;
beforeAll(async () => {
  configureOutbound({ timeouts: { connectMs: 1_000, headersMs: 300, bodyMs: 300 } });
});
afterAll(() => configureOutbound({ timeouts: DEFAULT_HTTP_TIMEOUTS }));
afterEach(async () => {
  for (const socket of silent.sockets) socket.destroy();
  await new Promise((resolve) => silent.server.close(resolve));
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error(`expected a failure, got ${String(outcome)}`);
  return outcome;
}

const ID = '0f6d4a52-5c1e-4d8e-9a57-3b7f0e0c2a11';
const referralsClient = (url: string) => new ReferralsClient({ baseUrl: url, tokenProvider: new StaticTokenProvider('t0ken-value'), retry: { baseDelayMs: 5, maxDelayMs: 10 } });
const dynamicsConnector = (url: string, timeoutMs: number) =>
  new DynamicsConnector({ name: 'dynamics', orgUrl: url, tokenProvider: new StaticTokenProvider('t0ken-value'), logger: silentLogger(), timeoutMs, retry: { baseDelayMs: 5, maxDelayMs: 10 } });

describe('a host that accepts the connection and never answers', () => {
  it('Partner Center: fails naming the host and the missing response headers, after one retry', async () => {
    silent = await startSilentHost();
    const error = await failure(referralsClient(silent.url).get(ID));
    expect(error.message).toContain(`partner center ${silent.host}: no response headers within 0.3 s`);
    expect(silent.connections).toBe(2);
  }, 60_000);

  it('Dataverse: fails naming the host', async () => {
    silent = await startSilentHost();
    const error = await failure(dynamicsConnector(silent.url, 300).read({ entity: 'opportunity', id: ID }, []));
    expect(error.message).toContain(`dataverse ${silent.host}: no complete response within 0.3 s`);
    expect(silent.connections).toBe(2);
  }, 60_000);

  it('Salesforce: fails naming the host and the missing response headers', async () => {
    silent = await startSilentHost();
    const client = new SalesforceClient({
      authenticator: { grant: () => Promise.resolve({ accessToken: 't0ken-value', instanceUrl: silent.url, userId: undefined, organizationId: undefined }) },
      apiVersion: '62.0',
      callOptionsClient: 'cosell',
      logger: silentLogger(),
      timeoutMs: 5_000,
      retry: { baseDelayMs: 5, maxDelayMs: 10 },
    });
    const error = await failure(client.send({ method: 'GET', path: '/sobjects/Opportunity/006000000000001AAA', route: 'sobjects/Opportunity/{id}' }));
    expect(error.message).toContain(`salesforce ${silent.host}: no response headers within 0.3 s`);
    expect(silent.connections).toBe(2);
  }, 60_000);
});

/*
 * Commands a person runs (`init`, `setup`, `mapping check`): one attempt, and Dataverse reads bounded by the
 * response-headers limit rather than the longer whole-call limit, so the command fails within that limit.
 */
describe('a silent host in an interactive command', () => {
  beforeAll(() => useInteractiveLimits());
  afterAll(() => useInteractiveLimits(false));

  it('Partner Center: gives up after the first timed-out attempt', async () => {
    silent = await startSilentHost();
    const error = await failure(referralsClient(silent.url).get(ID));
    expect(error.message).toContain(`partner center ${silent.host}: no response headers within 0.3 s`);
    expect(silent.connections).toBe(1);
  }, 60_000);

  it('Dataverse: a read gives up at the headers limit, not the 30 s call limit, after one attempt', async () => {
    silent = await startSilentHost();
    const error = await failure(dynamicsConnector(silent.url, 30_000).read({ entity: 'opportunity', id: ID }, []));
    expect(error.message).toContain(`dataverse ${silent.host}: no complete response within 0.3 s`);
    expect(silent.connections).toBe(1);
  }, 20_000);
});
